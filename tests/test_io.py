"""Safe reading and writing: clear errors, atomic writes, nothing clobbered."""

import os

import numpy as np
import pytest
import soundfile

from tfspecinv import io as io_lib
from tfspecinv.errors import SpecInvError


def test_write_is_atomic_and_never_clobbers(tmp_path):
  path = tmp_path / "out.wav"
  io_lib.write_audio(str(path), np.zeros(100), 16000)
  assert soundfile.info(str(path)).frames == 100
  with pytest.raises(SpecInvError, match="already exists"):
    io_lib.write_audio(str(path), np.ones(50), 16000)
  assert soundfile.info(str(path)).frames == 100
  io_lib.write_audio(str(path), np.ones(50) * 0.5, 16000, overwrite=True)
  assert soundfile.info(str(path)).frames == 50


def test_failure_inside_atomic_path_leaves_nothing(tmp_path):
  path = tmp_path / "report.json"
  with pytest.raises(RuntimeError):
    with io_lib.atomic_path(str(path)) as temporary:
      open(temporary, "w").write("half")
      raise RuntimeError("crash mid-write")
  assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name, message", [("x.txt", "unknown file type"),
                                           ("noext", "unknown file type")])
def test_unknown_extension(name, message):
  with pytest.raises(SpecInvError, match=message):
    io_lib.input_kind(name)


def test_corrupt_and_truncated_files(tmp_path):
  (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
  (tmp_path / "bad.wav").write_bytes(b"RIFF\x00\x00")
  with pytest.raises(SpecInvError, match="corrupt"):
    io_lib.read_array(str(tmp_path / "bad.npy"))
  with pytest.raises(SpecInvError, match="corrupt"):
    io_lib.read_audio(str(tmp_path / "bad.wav"))


def test_npz_keys(tmp_path):
  path = tmp_path / "specs.npz"
  np.savez(path, mel=np.ones((80, 3)), mfcc=np.zeros((20, 3)))
  assert io_lib.read_array(str(path), "mel").shape == (80, 3)
  with pytest.raises(SpecInvError, match="--key"):
    io_lib.read_array(str(path))
  with pytest.raises(SpecInvError, match="no array named 'spec'"):
    io_lib.read_array(str(path), "spec")


def test_unwritable_or_missing_folder(tmp_path):
  with pytest.raises(SpecInvError, match="does not exist"):
    io_lib.check_output_path(str(tmp_path / "missing" / "o.wav"), overwrite=False)
  with pytest.raises(SpecInvError, match="is a folder"):
    io_lib.check_output_path(str(tmp_path), overwrite=False)


def test_npy_is_memory_mapped_and_truncated_npy_is_an_error(tmp_path):
  path = tmp_path / "mel.npy"
  np.save(path, np.arange(80 * 50, dtype=np.float32).reshape(80, 50))
  loaded = io_lib.read_array(str(path))
  assert isinstance(loaded, np.memmap) and loaded[3, 7] == 3 * 50 + 7
  path.write_bytes(path.read_bytes()[:-100])
  with pytest.raises(SpecInvError, match="corrupt or truncated"):
    io_lib.read_array(str(path))


def test_streamed_audio_applies_the_gain_and_writes_atomically(tmp_path):
  path = tmp_path / "long.wav"
  peaks = []
  with io_lib.streamed_audio(str(path), 8000, "PCM_24", gain_for_peak=lambda p: (
      peaks.append(p), 0.5 / p)[1], chunk_samples=7) as write:
    write(np.linspace(-1, 1, 30) * 2.0)
    write(np.zeros(5))
    assert not path.exists()  # Nothing at the final path until it is complete.
  samples, rate = soundfile.read(str(path))
  assert rate == 8000 and len(samples) == 35 and peaks == [2.0]
  np.testing.assert_allclose(samples[:30], np.linspace(-1, 1, 30) * 0.5, atol=1e-6)
  assert sorted(os.listdir(tmp_path)) == ["long.wav"]
  with pytest.raises(SpecInvError, match="already exists"):
    with io_lib.streamed_audio(str(path), 8000) as write:
      write(np.zeros(3))


def test_streamed_audio_failure_leaves_nothing(tmp_path):
  with pytest.raises(KeyboardInterrupt):
    with io_lib.streamed_audio(str(tmp_path / "o.wav"), 8000) as write:
      write(np.ones(10) * 0.1)
      raise KeyboardInterrupt
  assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tfrecord_round_trip(tmp_path, dtype):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  arrays = [np.random.default_rng(i).random((80, 10 + i)).astype(dtype) for i in range(3)]
  path = str(tmp_path / "mels.tfrecord")
  io_lib.write_tfrecord(path, arrays, names=["a", "b", "c"])
  read = list(io_lib.read_tfrecord(path))
  assert [name for name, _ in read] == ["a", "b", "c"]
  for (_, got), want in zip(read, arrays):
    np.testing.assert_allclose(got, want.astype(np.float32))
  # The float-list form with a 'shape' feature, as other tools write it.
  flat = tf.train.Example(features=tf.train.Features(feature={
      "spectrogram": tf.train.Feature(float_list=tf.train.FloatList(value=arrays[0].ravel())),
      "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=[80, 10]))}))
  other = str(tmp_path / "flat.tfrecord")
  with tf.io.TFRecordWriter(other) as writer:
    writer.write(flat.SerializeToString())
  (name, got), = io_lib.read_tfrecord(other)
  assert name is None
  np.testing.assert_allclose(got, arrays[0].astype(np.float32), rtol=1e-7)
  with pytest.raises(SpecInvError, match="no feature 'mel'.*--key"):
    list(io_lib.read_tfrecord(other, feature="mel"))


def test_truncated_tfrecord_is_a_clear_error(tmp_path):
  path = tmp_path / "mels.tfrecord"
  io_lib.write_tfrecord(str(path), [np.ones((4, 5)), np.ones((4, 5))])
  path.write_bytes(path.read_bytes()[:-20])
  with pytest.raises(SpecInvError, match="record 1: the file is corrupt or truncated"):
    list(io_lib.read_tfrecord(str(path)))


def _record_offsets(data):
  offsets, offset = [], 0
  while offset < len(data):
    offsets.append(offset)
    offset += 16 + int.from_bytes(data[offset:offset + 8], "little")
  return offsets


def test_a_damaged_record_is_reported_and_the_rest_read(tmp_path):
  """One bad record no longer fails the file: data, header and truncation damage."""
  path = tmp_path / "mels.tfrecord"
  io_lib.write_tfrecord(str(path), [np.full((4, 5), i, np.float32) for i in range(5)],
                        names=list("abcde"))
  clean = path.read_bytes()
  offsets = _record_offsets(clean)
  assert len(offsets) == 5

  def entries(data):
    path.write_bytes(bytes(data))
    return [(e.index, e.name, None if e.error else float(e.spectrogram[0, 0]),
             str(e.error) if e.error else None) for e in io_lib.iter_tfrecord(str(path))]

  data = bytearray(clean)
  data[offsets[2] + 12 + 20] ^= 0x01  # Record 2's data: its CRC-32C no longer matches.
  got = entries(data)
  assert [g[:3] for g in got] == [(0, "a", 0.0), (1, "b", 1.0), (2, None, None), (3, "d", 3.0),
                                  (4, "e", 4.0)]
  assert got[2][3].startswith(f"{path}: TFRecord record 2 (bytes {offsets[2]} to ")
  with pytest.raises(SpecInvError, match="record 2 .* is corrupt"):
    list(io_lib.read_tfrecord(str(path)))  # The strict reader stops there.
  data = bytearray(clean)
  data[offsets[3] + 1] ^= 0x01  # Record 3's length: nothing after it can be located.
  got = entries(data)
  assert [g[:3] for g in got] == [(0, "a", 0.0), (1, "b", 1.0), (2, "c", 2.0), (3, None, None)]
  assert f"record header at byte {offsets[3]} is damaged" in got[3][3]
  got = entries(clean[:-7])  # Cut inside record 4.
  assert [g[0] for g in got if g[3] is None] == [0, 1, 2, 3]
  assert "record 4" in got[4][3] and "the records before it are read" in got[4][3]
  got = entries(b"\x00" * 5 + clean)  # Not a TFRecord file from the start.
  assert len(got) == 1 and "record 0: the file is corrupt" in got[0][3]


def test_masked_crc32c_matches_tensorflows_writer(tmp_path):
  """Our checksum against the one TensorFlow's writer stored, and CRC-32C's check value."""
  path = tmp_path / "x.tfrecord"
  io_lib.write_tfrecord(str(path), [np.arange(7.0), np.ones((3, 3))])
  data = path.read_bytes()
  for offset in _record_offsets(data):
    length = int.from_bytes(data[offset:offset + 8], "little")
    payload = data[offset + 12:offset + 12 + length]
    stored = int.from_bytes(data[offset + 12 + length:offset + 16 + length], "little")
    assert io_lib._masked_crc32c(payload) == stored  # pylint: disable=protected-access
  # Unmasked CRC-32C of "123456789" is 0xE3069283 (RFC 3720, B.4); unmask and compare.
  masked = io_lib._masked_crc32c(b"123456789")  # pylint: disable=protected-access
  rotated = (masked - 0xA282EAD8) & 0xFFFFFFFF
  assert ((rotated >> 17) | (rotated << 15)) & 0xFFFFFFFF == 0xE3069283


def test_odd_records_are_errors_naming_the_file(tmp_path):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  path = str(tmp_path / "odd.tfrecord")
  examples = [
      {"spectrogram": tf.train.Feature(float_list=tf.train.FloatList(value=[1.0] * 6)),
       "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=[-2, -3])),
       "name": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"\xff\xfe"]))},
      {"spectrogram": tf.train.Feature(float_list=tf.train.FloatList(value=[1.0] * 6)),
       "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=[2, 3])),
       "name": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"\xff\xfe"]))},
  ]
  with tf.io.TFRecordWriter(path) as writer:
    for fields in examples:
      writer.write(tf.train.Example(features=tf.train.Features(feature=fields))
                   .SerializeToString())
    writer.write(b"not an Example \xff\xff")
  first, second, third = io_lib.iter_tfrecord(path)
  assert "sizes >= 0" in str(first.error) and str(first.error).startswith(path)
  assert second.error is None and second.name == "\ufffd\ufffd"  # Undecodable: replaced.
  assert "record 2 is not a tf.train.Example" in str(third.error)


@pytest.mark.parametrize("array, message", [
    (np.ones((4, 5), np.complex64), "complex; save magnitudes"),
    (np.array([["a", "b"]]), "not numbers"),
    (np.zeros(3, dtype=[("x", "f4"), ("y", "f4")]), "not numbers"),
])
def test_arrays_that_are_not_real_numbers(tmp_path, array, message):
  path = tmp_path / "odd.npy"
  np.save(path, array)
  with pytest.raises(SpecInvError, match=message) as error:
    io_lib.read_array(str(path))
  assert str(error.value).startswith(str(path))


def test_a_corrupt_npz_names_the_file(tmp_path):
  path = tmp_path / "mel.npz"
  np.savez(path, mel=np.ones((4, 5)))
  data = bytearray(path.read_bytes())
  data[30:34] = b"\xff\xff\xff\xff"  # The member's name in its local header.
  path.write_bytes(bytes(data))
  with pytest.raises(SpecInvError, match=r"cannot read array 'mel' \(BadZipFile: ") as error:
    io_lib.read_array(str(path))
  assert str(error.value).startswith(str(path))


def test_audio_with_nan_samples_is_refused(tmp_path):
  path = tmp_path / "nan.wav"
  samples = np.zeros(100, np.float32)
  samples[7] = np.nan
  soundfile.write(str(path), samples, 8000, subtype="FLOAT")
  with pytest.raises(SpecInvError, match="1 NaN or infinite sample") as error:
    io_lib.read_audio(str(path))
  assert str(error.value).startswith(str(path))

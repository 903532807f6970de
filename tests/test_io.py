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

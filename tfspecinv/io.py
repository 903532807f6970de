"""Reading inputs (wav/flac/ogg audio, .npy/.npz spectrograms) and writing outputs safely.

Writes go to a temporary file in the destination folder and are renamed into
place, so an interrupted or failed write never leaves a half-written file, and
an existing file is only replaced when `overwrite=True`.
"""

import collections
import contextlib
import math
import os
import struct
import tempfile

import numpy as np
import soundfile

from tfspecinv.errors import SpecInvError

__all__ = ["AUDIO_EXTENSIONS", "ARRAY_EXTENSIONS", "read_audio", "audio_format", "read_array",
           "write_audio", "frames_last", "atomic_path", "check_output_path",
           "check_audio_output", "input_kind", "read_tfrecord", "iter_tfrecord", "TFRecordEntry",
           "write_tfrecord"]

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")
ARRAY_EXTENSIONS = (".npy", ".npz")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
TFRECORD_EXTENSIONS = (".tfrecord", ".tfrecords")
SUBTYPES = ("PCM_16", "PCM_24", "FLOAT")


def input_kind(path):
  """'audio', 'array', 'image' or 'tfrecord' from the file extension; raises for anything else."""
  ext = os.path.splitext(path)[1].lower()
  if ext in AUDIO_EXTENSIONS:
    return "audio"
  if ext in ARRAY_EXTENSIONS:
    return "array"
  if ext in IMAGE_EXTENSIONS:
    return "image"
  if ext in TFRECORD_EXTENSIONS:
    return "tfrecord"
  raise SpecInvError(
      f"{path}: unknown file type {ext or '(no extension)'!r}; use audio "
      f"({', '.join(AUDIO_EXTENSIONS)}) for a round trip, a spectrogram array "
      f"({', '.join(ARRAY_EXTENSIONS)}), a picture ({', '.join(IMAGE_EXTENSIONS)}) or a TFRecord "
      f"file of them ({', '.join(TFRECORD_EXTENSIONS)}) to invert.")


def read_audio(path, mono=True):
  """Float32 samples and the sample rate.

  Args:
    path: An audio file.
    mono: Average the channels into one (the default); False keeps them.

  Returns:
    `(samples, sample_rate)`: samples `[samples]` when `mono` or the file has
    one channel, else `[channels, samples]` in the file's channel order.

  Raises:
    SpecInvError: if the file is missing, unreadable, corrupt or empty.
  """
  if not os.path.isfile(path):
    raise SpecInvError(f"{path}: no such file.")
  try:
    data, sample_rate = soundfile.read(path, dtype="float32", always_2d=True)
  except Exception as error:  # pylint: disable=broad-except  (any bytes: a damaged header)
    raise SpecInvError(f"{path}: cannot read audio ({_first_line(error)}); is the file "
                       "corrupt or truncated?") from None
  if data.size == 0:
    raise SpecInvError(f"{path}: the audio file has no samples.")
  if not np.all(np.isfinite(data)):
    bad = int(np.count_nonzero(~np.isfinite(data)))
    raise SpecInvError(f"{path}: the audio has {bad} NaN or infinite sample(s); is the file "
                       "corrupt? Fix or re-export it.")
  if mono or data.shape[1] == 1:
    return data.mean(axis=1), int(sample_rate)
  return np.ascontiguousarray(data.T), int(sample_rate)


def audio_format(path):
  """`(channels, subtype)` of an audio file, e.g. `(2, 'PCM_24')` (soundfile's subtype names).

  Raises:
    SpecInvError: if the file cannot be read.
  """
  try:
    info = soundfile.info(path)
  except Exception as error:  # pylint: disable=broad-except  (any bytes: a damaged header)
    raise SpecInvError(f"{path}: cannot read audio ({_first_line(error)}); is the file "
                       "corrupt or truncated?") from None
  return int(info.channels), str(info.subtype)


def read_array(path, key=None):
  """A spectrogram array from `.npy`, or from `.npz` (by `key`, or its only array).

  Raises:
    SpecInvError: if the file is missing, corrupt, not numeric, or the key is
      ambiguous/absent; every message starts with `path`.
  """
  if not os.path.isfile(path):
    raise SpecInvError(f"{path}: no such file.")
  try:
    # .npy files are memory-mapped: long spectrograms are read block by block.
    mmap = "r" if path.lower().endswith(".npy") else None
    loaded = np.load(path, allow_pickle=False, mmap_mode=mmap)
  except Exception as error:  # pylint: disable=broad-except  (BadZipFile, a bad header, ...)
    raise SpecInvError(f"{path}: cannot read the array ({_error_text(error)}); is the file "
                       "corrupt or truncated?") from None
  if isinstance(loaded, np.ndarray):
    return _numeric(path, loaded)
  with contextlib.closing(loaded):
    names = list(loaded.files)
    if key is None and len(names) == 1:
      key = names[0]
    if key is None or key not in names:
      what = "has several arrays" if key is None else f"has no array named {key!r}"
      raise SpecInvError(f"{path} {what} ({', '.join(names) or 'none'}); choose one with "
                         "--key=NAME.")
    try:
      array = loaded[key]
    except Exception as error:  # pylint: disable=broad-except  (zlib.error, BadZipFile, ...)
      raise SpecInvError(f"{path}: cannot read array {key!r} ({_error_text(error)}); is the "
                         "file corrupt or truncated?") from None
  return _numeric(path, array, key)


def _numeric(path, array, key=None):
  """The array if it holds real numbers; otherwise a `SpecInvError` naming the file."""
  what = path if key is None else f"{path} (array {key!r})"
  if array.dtype.kind == "c":
    raise SpecInvError(f"{what}: the array is complex; save magnitudes (np.abs(S)), or use "
                       "tfspecinv.istft when you have the phase.")
  if array.dtype.kind not in "fiu":
    raise SpecInvError(f"{what}: the array has dtype {array.dtype}, not numbers; save the "
                       "spectrogram as a float array.")
  return array


TFRecordEntry = collections.namedtuple("TFRecordEntry", ["index", "name", "spectrogram", "error"])
TFRecordEntry.__doc__ = """One record of a TFRecord file, as `iter_tfrecord` yields it.

Fields:
  index: The record's position in the file (0-based).
  name: Its `name` feature (str), or None.
  spectrogram: float32 array (the stored shape), or None when `error` is set.
  error: None, or the `SpecInvError` saying why this record cannot be used
    (its message names the file and the record).
"""


def read_tfrecord(path, feature="spectrogram"):
  """Spectrograms stored in a TFRecord file of `tf.train.Example`s, one per record.

  Each Example holds `feature` either as one bytes value made by
  `tf.io.serialize_tensor` (float32 or float64), or as a float list with an
  int64 list `shape` beside it; an optional bytes feature `name` names the
  output. `write_tfrecord` writes this format. This reader stops at the first
  bad record; `iter_tfrecord` reports it and goes on.

  Args:
    path: The .tfrecord file.
    feature: Name of the feature that holds the spectrogram.

  Yields:
    `(name or None, float32 array)` per record.

  Raises:
    SpecInvError: for a missing, corrupt or truncated file, or a record
      without the feature.
  """
  for entry in iter_tfrecord(path, feature):
    if entry.error is not None:
      raise entry.error
    yield entry.name, entry.spectrogram


def iter_tfrecord(path, feature="spectrogram"):
  """Every record of a TFRecord file; a damaged one is reported in its place and skipped.

  Records are read by TensorFlow's reader; from the first damaged one on, the
  file is framed here, checking each record's CRC-32C: a record whose data
  does not match its checksum, or that is not a `tf.train.Example` holding a
  float `feature`, becomes an entry with `error` set and the next record is
  read. A damaged length header or a file that ends inside a record ends the
  file (nothing after it can be located), also as an entry with `error`.

  Args:
    path: The .tfrecord file (the format `read_tfrecord` describes).
    feature: Name of the feature that holds the spectrogram.

  Yields:
    `TFRecordEntry(index, name, spectrogram, error)` per record.

  Raises:
    SpecInvError: the file does not exist.
  """
  if not os.path.isfile(path):
    raise SpecInvError(f"{path}: no such file.")
  for index, payload in _tfrecord_payloads(path):
    if isinstance(payload, SpecInvError):
      yield TFRecordEntry(index, None, None, payload)
      continue
    try:
      name, array = _parse_example(path, index, payload, feature)
    except SpecInvError as error:
      yield TFRecordEntry(index, None, None, error)
      continue
    yield TFRecordEntry(index, name, array, None)


# TFRecord framing: uint64 length, uint32 masked CRC-32C of it, the data, its masked CRC-32C.
_HEADER, _FOOTER = 12, 4


def _tfrecord_payloads(path):
  """`(index, bytes or SpecInvError)` per record: TensorFlow's reader, then ours after damage."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  index, offset = 0, 0
  records = iter(tf.data.TFRecordDataset(path))
  while True:
    try:
      payload = next(records).numpy()
    except StopIteration:
      return
    except tf.errors.OpError:  # DataLossError (a checksum, a truncation) and the like.
      break
    yield index, payload
    index, offset = index + 1, offset + _HEADER + len(payload) + _FOOTER
  size = os.path.getsize(path)
  unreadable = (f"{path}: cannot read TFRecord record {{index}}: the file is corrupt or "
                "truncated (or not a TFRecord file): {what}{before}.")
  with open(path, "rb") as handle:
    handle.seek(offset)
    while offset < size:
      header = handle.read(_HEADER)
      length, length_crc = struct.unpack("<QI", header) if len(header) == _HEADER else (0, None)
      if length_crc is None or _masked_crc32c(header[:8]) != length_crc:
        what = (f"the file ends inside the header of the record at byte {offset}"
                if length_crc is None else f"the record header at byte {offset} is damaged, so "
                f"the rest of the file ({size - offset} bytes) cannot be located")
        yield index, SpecInvError(unreadable.format(
            index=index, what=what, before="; the records before it are read" if index else ""))
        return
      end = offset + _HEADER + length + _FOOTER
      if end > size:
        what = f"the file ends at byte {size}, inside the record at byte {offset} ({end} needed)"
        yield index, SpecInvError(unreadable.format(
            index=index, what=what, before="; the records before it are read" if index else ""))
        return
      payload = handle.read(length)
      data_crc, = struct.unpack("<I", handle.read(_FOOTER))
      if _masked_crc32c(payload) != data_crc:
        yield index, SpecInvError(
            f"{path}: TFRecord record {index} (bytes {offset} to {end}) is corrupt: its data do "
            "not match its checksum; the other records are read.")
      else:
        yield index, payload
      index, offset = index + 1, end


def _crc32c_table():
  table = []
  for byte in range(256):
    crc = byte
    for _ in range(8):
      crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    table.append(crc)
  return table


_CRC32C_TABLE = _crc32c_table()


def _masked_crc32c(data):
  """TFRecord's masked CRC-32C (Castagnoli) of `data` (pure Python, ~10 MB/s)."""
  crc, table = 0xFFFFFFFF, _CRC32C_TABLE
  for byte in data:
    crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
  crc ^= 0xFFFFFFFF
  return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _parse_example(path, index, serialized, feature):
  """(name or None, float32 array) of one serialized Example; SpecInvError naming the record."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  try:
    fields = tf.train.Example.FromString(serialized).features.feature
  except Exception:  # pylint: disable=broad-except  (protobuf's DecodeError)
    raise SpecInvError(f"{path}: record {index} is not a tf.train.Example.") from None
  if feature not in fields:
    raise SpecInvError(f"{path}: record {index} has no feature {feature!r} (it has "
                       f"{', '.join(sorted(fields)) or 'none'}); choose one with --key=NAME.")
  value = fields[feature]
  if value.bytes_list.value:
    raw = value.bytes_list.value[0]
    array = None
    for dtype in (tf.float32, tf.float64):
      try:
        array = tf.io.parse_tensor(raw, dtype).numpy()
        break
      except tf.errors.OpError:
        continue
    if array is None:
      raise SpecInvError(f"{path}: record {index}: {feature!r} is not a serialized float "
                         "tensor (tf.io.serialize_tensor of float32/float64).")
  else:
    shape = list(fields["shape"].int64_list.value) if "shape" in fields else []
    values = np.asarray(value.float_list.value, np.float32)
    if not shape or min(shape) < 0 or math.prod(shape) != values.size:
      raise SpecInvError(f"{path}: record {index}: a float-list {feature!r} needs an int64 "
                         f"'shape' feature of sizes >= 0 whose product is its size "
                         f"({values.size}).")
    array = values.reshape(shape)
  names = fields["name"].bytes_list.value if "name" in fields else []
  name = names[0].decode("utf-8", "replace") if names else None
  return name, np.asarray(array, np.float32)


def write_tfrecord(path, spectrograms, names=None, feature="spectrogram", overwrite=False):
  """Write spectrograms as the TFRecord format `read_tfrecord` reads (atomically).

  Args:
    path: Output .tfrecord.
    spectrograms: Iterable of float arrays.
    names: Optional names, one per spectrogram.
    feature: Feature name of the serialized tensor.
    overwrite: Replace an existing file.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  with atomic_path(path, overwrite) as temporary:
    with tf.io.TFRecordWriter(temporary) as writer:
      for index, array in enumerate(spectrograms):
        fields = {feature: tf.train.Feature(bytes_list=tf.train.BytesList(value=[
            tf.io.serialize_tensor(tf.constant(np.asarray(array, np.float32))).numpy()]))}
        if names is not None:
          fields["name"] = tf.train.Feature(bytes_list=tf.train.BytesList(
              value=[str(names[index]).encode()]))
        writer.write(tf.train.Example(
            features=tf.train.Features(feature=fields)).SerializeToString())


def check_output_path(path, overwrite):
  """Raise if `path` exists (without `overwrite`) or its folder is not writable."""
  folder = os.path.dirname(os.path.abspath(path))
  if os.path.isdir(path):
    raise SpecInvError(f"{path} is a folder; give a file name for the output.")
  if os.path.exists(path) and not overwrite:
    raise SpecInvError(f"{path} already exists; pass --overwrite to replace it or choose "
                       "another name.")
  if not os.path.isdir(folder):
    raise SpecInvError(f"cannot write {path}: folder {folder} does not exist; create it first.")
  if not os.access(folder, os.W_OK):
    raise SpecInvError(f"cannot write {path}: folder {folder} is not writable.")


@contextlib.contextmanager
def atomic_path(path, overwrite=False):
  """Yield a temporary path next to `path`; rename it into place on success.

  On any exception (or Ctrl-C) the temporary file is removed and `path` is
  untouched.
  """
  check_output_path(path, overwrite)
  folder = os.path.dirname(os.path.abspath(path))
  suffix = os.path.splitext(path)[1]
  handle, temporary = tempfile.mkstemp(prefix=".tfspecinv-", suffix=suffix, dir=folder)
  os.close(handle)
  try:
    yield temporary
    if os.path.exists(path) and not overwrite:
      raise SpecInvError(f"{path} appeared while writing; not replacing it.")
    os.chmod(temporary, 0o666 & ~_umask())
    os.replace(temporary, path)
  finally:
    if os.path.exists(temporary):
      os.remove(temporary)


def check_audio_output(path, subtype):
  """The output's extension ('.wav' or '.flac') if it can hold `subtype`.

  Raises:
    SpecInvError: an unknown subtype, another extension, or float FLAC.
  """
  if subtype not in SUBTYPES:
    raise SpecInvError(f"subtype={subtype!r} is not supported; use one of {SUBTYPES}.")
  ext = os.path.splitext(path)[1].lower()
  if ext not in (".wav", ".flac"):
    raise SpecInvError(f"{path}: output must be .wav or .flac, got {ext or 'no extension'!r}.")
  if ext == ".flac" and subtype == "FLOAT":
    raise SpecInvError("FLAC cannot store float samples; use --subtype=PCM_16/PCM_24 or .wav.")
  return ext


def write_audio(path, samples, sample_rate, subtype="PCM_16", overwrite=False):
  """Write `samples` `[n]` (mono) or `[channels, n]` (float) atomically.

  Raises:
    SpecInvError: for an existing file without `overwrite`, an unwritable
      folder, or an unknown subtype.
  """
  ext = check_audio_output(path, subtype)
  with atomic_path(path, overwrite) as temporary:
    soundfile.write(temporary, frames_last(samples), int(sample_rate), subtype=subtype,
                    format=ext[1:].upper())


def frames_last(samples):
  """`[n]` or `[channels, n]` float samples as soundfile takes them: `[n]` or `[n, channels]`."""
  samples = np.asarray(samples, np.float32)
  return samples.T if samples.ndim == 2 else samples


@contextlib.contextmanager
def streamed_audio(path, sample_rate, subtype="PCM_16", overwrite=False, gain_for_peak=None,
                   chunk_samples=1 << 20, channels=1):
  """Write audio chunk by chunk, in bounded memory; the file appears only when done.

  Chunks go to a float temporary file while their peak is tracked; on exit
  the samples are copied, times `gain_for_peak(peak)`, into `path` in
  `subtype` (atomically, as `write_audio`). Leaving the block by an
  exception removes everything and leaves `path` untouched.

  Args:
    path: Output .wav/.flac.
    sample_rate: Hz.
    subtype: 'PCM_16', 'PCM_24' or 'FLOAT'.
    overwrite: Replace an existing `path`.
    gain_for_peak: Optional callable `peak -> gain` (e.g. peak normalisation).
    chunk_samples: Samples per copy step of the second pass.
    channels: Channels of the file; one gain applies to all of them.

  Yields:
    `write(samples)` for consecutive float chunks, `[n]` for one channel,
    `[channels, n]` for several.

  Raises:
    SpecInvError: as `write_audio`.
  """
  if subtype not in SUBTYPES:
    raise SpecInvError(f"subtype={subtype!r} is not supported; use one of {SUBTYPES}.")
  ext = os.path.splitext(path)[1].lower()
  if ext not in (".wav", ".flac"):
    raise SpecInvError(f"{path}: output must be .wav or .flac, got {ext or 'no extension'!r}.")
  check_output_path(path, overwrite)
  folder = os.path.dirname(os.path.abspath(path))
  handle, raw_path = tempfile.mkstemp(prefix=".tfspecinv-raw-", suffix=".wav", dir=folder)
  os.close(handle)
  peak = [0.0]
  try:
    with soundfile.SoundFile(raw_path, "w", int(sample_rate), int(channels), subtype="FLOAT",
                             format="WAV") as raw:

      def write(samples):
        samples = frames_last(samples)
        if samples.size:
          peak[0] = max(peak[0], float(np.max(np.abs(samples))))
        raw.write(samples)

      yield write
    gain = 1.0 if gain_for_peak is None else float(gain_for_peak(peak[0]))
    with atomic_path(path, overwrite) as temporary:
      with soundfile.SoundFile(raw_path) as source, soundfile.SoundFile(
          temporary, "w", int(sample_rate), int(channels), subtype=subtype,
          format=ext[1:].upper()) as out:
        for block in source.blocks(blocksize=chunk_samples, dtype="float32"):
          out.write(block * np.float32(gain))
  finally:
    if os.path.exists(raw_path):
      os.remove(raw_path)


def _umask():
  mask = os.umask(0)
  os.umask(mask)
  return mask


def _error_text(error):
  """'Type: first line' of an exception, for a message about a file."""
  text = _first_line(error)
  name = type(error).__name__
  return text if text == name else f"{name}: {text}"


def _first_line(error):
  return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__

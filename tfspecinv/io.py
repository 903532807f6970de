"""Reading inputs (wav/flac/ogg audio, .npy/.npz spectrograms) and writing outputs safely.

Writes go to a temporary file in the destination folder and are renamed into
place, so an interrupted or failed write never leaves a half-written file, and
an existing file is only replaced when `overwrite=True`.
"""

import contextlib
import os
import tempfile

import numpy as np
import soundfile

from tfspecinv.errors import SpecInvError

__all__ = ["AUDIO_EXTENSIONS", "ARRAY_EXTENSIONS", "read_audio", "read_array", "write_audio",
           "atomic_path", "check_output_path", "input_kind"]

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")
ARRAY_EXTENSIONS = (".npy", ".npz")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
SUBTYPES = ("PCM_16", "PCM_24", "FLOAT")


def input_kind(path):
  """'audio', 'array' or 'image' from the file extension; raises for anything else."""
  ext = os.path.splitext(path)[1].lower()
  if ext in AUDIO_EXTENSIONS:
    return "audio"
  if ext in ARRAY_EXTENSIONS:
    return "array"
  if ext in IMAGE_EXTENSIONS:
    return "image"
  raise SpecInvError(
      f"{path}: unknown file type {ext or '(no extension)'!r}; use audio "
      f"({', '.join(AUDIO_EXTENSIONS)}) for a round trip, a spectrogram array "
      f"({', '.join(ARRAY_EXTENSIONS)}) or a picture ({', '.join(IMAGE_EXTENSIONS)}) to invert.")


def read_audio(path):
  """Mono float32 samples and the sample rate (channels are averaged).

  Raises:
    SpecInvError: if the file is missing, unreadable, corrupt or empty.
  """
  if not os.path.isfile(path):
    raise SpecInvError(f"{path}: no such file.")
  try:
    data, sample_rate = soundfile.read(path, dtype="float32", always_2d=True)
  except (RuntimeError, soundfile.LibsndfileError, ValueError) as error:
    raise SpecInvError(f"{path}: cannot read audio ({_first_line(error)}); is the file "
                       "corrupt or truncated?") from None
  if data.size == 0:
    raise SpecInvError(f"{path}: the audio file has no samples.")
  return data.mean(axis=1), int(sample_rate)


def read_array(path, key=None):
  """A spectrogram array from `.npy`, or from `.npz` (by `key`, or its only array).

  Raises:
    SpecInvError: if the file is missing, corrupt, or the key is ambiguous/absent.
  """
  if not os.path.isfile(path):
    raise SpecInvError(f"{path}: no such file.")
  try:
    loaded = np.load(path, allow_pickle=False)
  except (ValueError, OSError, EOFError) as error:
    raise SpecInvError(f"{path}: cannot read the array ({_first_line(error)}); is the file "
                       "corrupt or truncated?") from None
  if isinstance(loaded, np.ndarray):
    return loaded
  with contextlib.closing(loaded):
    names = list(loaded.files)
    if key is None and len(names) == 1:
      key = names[0]
    if key is None or key not in names:
      what = "has several arrays" if key is None else f"has no array named {key!r}"
      raise SpecInvError(f"{path} {what} ({', '.join(names) or 'none'}); choose one with "
                         "--key=NAME.")
    try:
      return loaded[key]
    except (ValueError, OSError, EOFError) as error:
      raise SpecInvError(f"{path}: cannot read array {key!r} ({_first_line(error)}).") from None


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


def write_audio(path, samples, sample_rate, subtype="PCM_16", overwrite=False):
  """Write mono `samples` `[n]` (float) atomically.

  Raises:
    SpecInvError: for an existing file without `overwrite`, an unwritable
      folder, or an unknown subtype.
  """
  if subtype not in SUBTYPES:
    raise SpecInvError(f"subtype={subtype!r} is not supported; use one of {SUBTYPES}.")
  ext = os.path.splitext(path)[1].lower()
  if ext not in (".wav", ".flac"):
    raise SpecInvError(f"{path}: output must be .wav or .flac, got {ext or 'no extension'!r}.")
  if ext == ".flac" and subtype == "FLOAT":
    raise SpecInvError("FLAC cannot store float samples; use --subtype=PCM_16/PCM_24 or .wav.")
  with atomic_path(path, overwrite) as temporary:
    soundfile.write(temporary, np.asarray(samples, np.float32), int(sample_rate),
                    subtype=subtype, format=ext[1:].upper())


def _umask():
  mask = os.umask(0)
  os.umask(mask)
  return mask


def _first_line(error):
  return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__

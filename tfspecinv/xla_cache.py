"""A compilation cache on disk, so XLA compiles each loop once per machine, not per process.

TensorFlow keeps XLA executables in the directory named by the
`--tf_xla_persistent_cache_directory` entry of `TF_XLA_FLAGS`, read when XLA
first parses its XLA flags: while TensorFlow Probability imports, or while
TensorFlow itself imports with `TF_USE_LEGACY_KERAS=1` (tf_keras). The
command line calls `enable` before importing TensorFlow, `tfspecinv.optimize`
before importing TensorFlow Probability, so the entry is in place unless the
user named a directory already. The command line and Beam use the cache by
default; a Python program when it sets `TFSPECINV_XLA_CACHE`:

* `TFSPECINV_XLA_CACHE=/some/dir` chooses the directory; an empty value turns
  the cache off.
* Default: `$XDG_CACHE_HOME/tfspecinv/xla-<TF version>-<CPU>` (else under
  `~/.cache`), one directory per TensorFlow version and CPU model, so a
  home directory shared between machines never runs code compiled for
  another processor.

On a 2-core CPU a first call of the default mel inversion on a 1 s clip
compiles for about 1.5 s; with the cache a later process loads the result
instead (bench/results/startup.md).
"""

import hashlib
import importlib.metadata
import os
import platform

__all__ = ["enable", "directory"]

_FLAG = "--tf_xla_persistent_cache_directory"
ENV = "TFSPECINV_XLA_CACHE"


def directory():
  """The cache directory `enable` uses, or None when it is turned off.

  Returns:
    A path (str) or None.
  """
  chosen = os.environ.get(ENV)
  if chosen is not None:
    return chosen or None
  base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  machine = hashlib.sha1(_cpu_model().encode()).hexdigest()[:10]
  return os.path.join(base, "tfspecinv", f"xla-{_tensorflow_version()}-{machine}")


def enable(by_default=True):
  """Point TensorFlow's XLA compilation cache at `directory()` (once; idempotent).

  Args:
    by_default: Use the default directory when `TFSPECINV_XLA_CACHE` is not
      set. The command line and Beam pass True; the library (importing
      `tfspecinv.optimize`) passes False, so a Python program gets the cache
      only when it sets the variable: TensorFlow logs two error-level lines
      each time it loads a cached executable (harmless: tuning flags it
      does not recognise), which the command line silences.

  Does nothing when the cache is turned off, when `TF_XLA_FLAGS` already
  names a cache directory, or when the directory cannot be created. Takes
  effect only if TensorFlow has not parsed its XLA flags yet in this process
  (importing TensorFlow Probability or running a function does).

  Returns:
    The directory in use, or None.
  """
  flags = os.environ.get("TF_XLA_FLAGS", "")
  if _FLAG in flags:
    return flags.split(_FLAG + "=", 1)[-1].split()[0]
  if not by_default and os.environ.get(ENV) is None:
    return None
  path = directory()
  if path is None:
    return None
  try:
    os.makedirs(path, exist_ok=True)
  except OSError:
    return None
  os.environ["TF_XLA_FLAGS"] = f"{flags} {_FLAG}={path}".strip()
  return path


def _tensorflow_version():
  """TensorFlow's version without importing it (the cache must be named before)."""
  for name in ("tensorflow", "tensorflow-cpu", "tf-nightly"):
    try:
      return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
      continue
  return "unknown"


def _cpu_model():
  try:
    with open("/proc/cpuinfo", encoding="utf-8") as info:
      for line in info:
        if line.startswith(("model name", "flags")):
          return platform.machine() + line
  except OSError:
    pass
  return platform.machine() + platform.processor()

"""An opt-in compilation cache on disk: XLA compiles each loop once per machine, not per process.

TensorFlow keeps XLA executables in the directory named by the
`--tf_xla_persistent_cache_directory` entry of `TF_XLA_FLAGS`, read when XLA
first parses its XLA flags: while TensorFlow Probability imports, or while
TensorFlow itself imports with `TF_USE_LEGACY_KERAS=1` (tf_keras). The
command line calls `enable` before importing TensorFlow, `tfspecinv.optimize`
before importing TensorFlow Probability, so the entry is in place unless the
user named a directory already.

Off unless `TFSPECINV_XLA_CACHE` is set (the command line, Beam and Python
programs alike):

* `TFSPECINV_XLA_CACHE=/some/dir` chooses the directory; an empty value (or
  none) leaves it off.
* `TFSPECINV_XLA_CACHE=default`: `$XDG_CACHE_HOME/tfspecinv/xla-<TF
  version>-<CPU>` (else under `~/.cache`), one directory per TensorFlow
  version and CPU model, so a home directory shared between machines never
  runs code compiled for another processor.

Why off by default: TensorFlow loads cached executables as ahead-of-time
compiled code and warns on every load that the machine features differ
("could lead to SIGILL"); in one test-suite run a command-line process that
had loaded cached executables from the suite's earlier processes died with
a segmentation fault in its L-BFGS stage. It did not recur in 20 tries, but
a crash without a message is worse than the start-up it saves: on a 2-core
CPU about 1.5 s of the first call on a 1 s mel (bench/results/lbfgs.md).
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
  if chosen != "default":
    return chosen or None
  base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  machine = hashlib.sha1(_cpu_model().encode()).hexdigest()[:10]
  return os.path.join(base, "tfspecinv", f"xla-{_tensorflow_version()}-{machine}")


def enable():
  """Point TensorFlow's XLA compilation cache at `directory()` (once; idempotent).

  Does nothing unless `TFSPECINV_XLA_CACHE` names a directory (or
  'default'), when `TF_XLA_FLAGS` already names a cache directory, or when
  the directory cannot be created. Takes effect only if TensorFlow has not
  parsed its XLA flags yet in this process (importing TensorFlow
  Probability or running a function does). TensorFlow logs two error-level
  lines each time it loads a cached executable; the command line silences
  TensorFlow's C++ log, a Python program shows them.

  Returns:
    The directory in use, or None.
  """
  flags = os.environ.get("TF_XLA_FLAGS", "")
  if _FLAG in flags:
    return flags.split(_FLAG + "=", 1)[-1].split()[0]
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

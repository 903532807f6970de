"""The opt-in XLA compilation cache: off unless TFSPECINV_XLA_CACHE names a directory."""

import os
import subprocess
import sys

import numpy as np

from tfspecinv import xla_cache

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_off_unless_named(monkeypatch, tmp_path):
  monkeypatch.delenv("TF_XLA_FLAGS", raising=False)
  for value in (None, ""):
    if value is None:
      monkeypatch.delenv(xla_cache.ENV, raising=False)
    else:
      monkeypatch.setenv(xla_cache.ENV, value)
    assert xla_cache.directory() is None and xla_cache.enable() is None
    assert "TF_XLA_FLAGS" not in os.environ
  monkeypatch.setenv(xla_cache.ENV, str(tmp_path / "xla"))
  assert xla_cache.enable() == str(tmp_path / "xla")
  assert os.environ["TF_XLA_FLAGS"] == f"--tf_xla_persistent_cache_directory={tmp_path / 'xla'}"
  assert xla_cache.enable() == str(tmp_path / "xla")  # Idempotent: the flag is already there.


def test_default_directory_is_per_tensorflow_version_and_cpu(monkeypatch, tmp_path):
  monkeypatch.setenv(xla_cache.ENV, "default")
  monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
  path = xla_cache.directory()
  assert path.startswith(str(tmp_path / "tfspecinv" / "xla-"))


def test_command_line_fills_a_named_cache(tmp_path):
  """A CLI run with the variable set writes compilations there; without it, nowhere."""
  mel = np.abs(np.random.default_rng(0).standard_normal((80, 44))).astype(np.float32)
  np.save(tmp_path / "m.npy", mel)
  cache = tmp_path / "xla"
  env = dict(os.environ, TFSPECINV_XLA_CACHE=str(cache))
  env.pop("TF_XLA_FLAGS", None)
  done = subprocess.run([sys.executable, "main.py", str(tmp_path / "m.npy"), str(tmp_path / "o.wav"),
                         "--n_mels=80", "--n_fft=1024", "--hop_length=256", "--fmax=8000",
                         "--lbfgs_iters=120"], cwd=ROOT, env=env, capture_output=True,
                        text=True, timeout=300)
  assert done.returncode == 0, done.stderr
  assert any(name.startswith("xla_compile_cache") for name in os.listdir(cache))

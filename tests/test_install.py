"""The installed program: a wheel built from this tree, installed into a fresh environment.

`pip install .` must give a `tfspecinv` command and `python -m tfspecinv` that
work from any folder, without the repository: the test builds a wheel from a
copy of the package files, installs it (`--no-deps`) into a new virtual
environment that reuses the test interpreter's packages (TensorFlow) through a
`.pth` line, and runs both commands from a temporary folder on a 1 s clip, as
a user would. The written files are checked with librosa (independent of
tfspecinv): length, sample rate, level, and the fit of their mel spectrogram.
"""

import os
import shutil
import subprocess
import sys
import sysconfig

import librosa
import numpy as np
import pytest
import soundfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "samples", "speech_female_ljspeech.wav")
# What a wheel is built from (setup.cfg reads README.md for the long description).
PACKAGE_FILES = ("setup.cfg", "setup.py", "README.md", "tfspecinv")
SMALL_RUN = ("--gl_iters=16", "--lbfgs_iters=30")  # Two CLI runs on a 1 s clip: seconds each.


def _can_build_without_isolation():
  """setuptools with a built-in bdist_wheel (>= 70.1) or the `wheel` package: no network needed."""
  try:
    import setuptools  # pylint: disable=import-outside-toplevel
  except ImportError:
    return False
  try:
    import wheel  # pylint: disable=import-outside-toplevel,unused-import
    return True
  except ImportError:
    return tuple(int(p) for p in setuptools.__version__.split(".")[:2]) >= (70, 1)


def _clean_env():
  """The environment without PYTHONPATH, so nothing but the installed wheel is importable."""
  env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
  env["TF_CPP_MIN_LOG_LEVEL"] = "3"
  return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
  """(bin folder of a fresh venv with the wheel installed, a working folder outside the repo)."""
  base = tmp_path_factory.mktemp("install")
  source, dist, env = base / "source", base / "dist", base / "env"
  source.mkdir()
  for name in PACKAGE_FILES:  # A copy: building writes build/ and *.egg-info next to setup.py.
    path = os.path.join(ROOT, name)
    if os.path.isdir(path):
      shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    else:
      shutil.copy(path, source / name)
  build = [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q", "-w", str(dist)]
  if _can_build_without_isolation():
    build.append("--no-build-isolation")
  subprocess.run(build, cwd=source, check=True, capture_output=True, timeout=600)
  wheels = sorted(dist.glob("tfspecinv-*.whl"))
  assert len(wheels) == 1, wheels
  subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                  str(env)], check=True, timeout=120)
  python = env / "bin" / "python"
  purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                            "print(sysconfig.get_paths()['purelib'])"], check=True, text=True,
                           capture_output=True, env=_clean_env()).stdout.strip()
  # Reuse the test environment's TensorFlow & co. (no network, no second copy).
  with open(os.path.join(purelib, "_test_environment.pth"), "w") as handle:
    handle.write(sysconfig.get_paths()["purelib"] + "\n")
  subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                  "--no-index", "-q", str(wheels[0])], check=True, capture_output=True,
                 timeout=300)
  work = base / "work"
  work.mkdir()
  y, rate = soundfile.read(SAMPLE, dtype="float32")
  soundfile.write(work / "in.wav", y[rate // 2:rate // 2 + rate], rate)
  return env / "bin", work


def _run(work, *args):
  return subprocess.run(list(args), cwd=work, capture_output=True, text=True, timeout=600,
                        env=_clean_env())


def _check_written(work, name):
  """The round trip as written: same length and rate, a sane level, a close mel fit."""
  y, rate = soundfile.read(work / "in.wav")
  out, out_rate = soundfile.read(work / name)
  assert out_rate == rate == 22050 and out.shape == y.shape, (out.shape, y.shape)
  peak = np.max(np.abs(out))
  assert 0.1 * np.max(np.abs(y)) < peak < 1.0, peak  # Not silent, not clipped.
  target = librosa.feature.melspectrogram(y=y, sr=rate)  # librosa's defaults, as the CLI's.
  rebuilt = librosa.feature.melspectrogram(y=out, sr=rate)
  sc_db = 20 * np.log10(np.linalg.norm(rebuilt - target) / np.linalg.norm(target))
  assert sc_db < -20.0, sc_db


def test_wheel_installs_a_working_command_and_module(installed):
  bin_folder, work = installed
  located = _run(work, str(bin_folder / "python"), "-c", "import tfspecinv; "
                 "print(tfspecinv.__file__, tfspecinv.__version__)")
  assert located.returncode == 0, located.stderr
  where, version = located.stdout.split()
  assert where.startswith(str(bin_folder.parent)) and not where.startswith(ROOT), where

  shown = _run(work, str(bin_folder / "tfspecinv"), "--version")
  assert shown.returncode == 0 and shown.stdout.strip() == f"tfspecinv {version}", shown

  command = _run(work, str(bin_folder / "tfspecinv"), "in.wav", "command.wav", *SMALL_RUN)
  assert command.returncode == 0, command.stderr
  assert "Traceback" not in command.stderr
  _check_written(work, "command.wav")

  module = _run(work, str(bin_folder / "python"), "-m", "tfspecinv", "in.wav", "module.wav",
                *SMALL_RUN)
  assert module.returncode == 0, module.stderr
  _check_written(work, "module.wav")
  assert sorted(os.listdir(work)) == ["command.wav", "in.wav", "module.wav"]


def test_installed_command_bad_input_exit_status(installed):
  bin_folder, work = installed
  before = sorted(os.listdir(work))
  missing = _run(work, str(bin_folder / "tfspecinv"), "missing.npy", "bad.wav")
  assert missing.returncode == 1, missing
  lines = missing.stderr.strip().splitlines()
  assert len(lines) == 1 and "missing.npy" in lines[0] and "no such file" in lines[0], lines
  usage = _run(work, str(bin_folder / "python"), "-m", "tfspecinv", "in.wav")
  assert usage.returncode == 2, usage
  lines = usage.stderr.strip().splitlines()
  assert len(lines) == 1 and "INPUT OUTPUT" in lines[0], lines
  assert sorted(os.listdir(work)) == before  # Nothing written.
  helped = _run(work, str(bin_folder / "tfspecinv"), "--helpshort")  # absl exits 1 after help.
  assert "--input" in helped.stdout and "--version" in helped.stdout, helped

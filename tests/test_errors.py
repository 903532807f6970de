"""The bad-input catalogue: every case gets one clear message, at the API and at the CLI.

The README's "Errors" section lists these cases and their messages.
"""

import os
import subprocess
import sys

import hypothesis
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
import numpy as np
import pytest

import tfspecinv
from tfspecinv.errors import SpecInvError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = os.path.join(ROOT, "main.py")
SMALL = tfspecinv.SpectrogramConfig.librosa(sample_rate=8000, n_fft=16, hop_length=4, power=1.0)
MEL = tfspecinv.SpectrogramConfig.librosa(sample_rate=22050, n_fft=512, hop_length=128,
                                          n_mels=40, representation="mel")

# (name, array, config, message fragment): API and CLI share these.
CATALOGUE = [
    ("nan", np.where(np.eye(9, 12) > 0, np.nan, 1.0), SMALL, "NaN"),
    ("inf", np.where(np.eye(9, 12) > 0, np.inf, 1.0), SMALL, "infinite"),
    ("negative", -np.ones((9, 12)), SMALL, "negative values"),
    ("one-dimensional", np.ones(9), SMALL, "at least 2 dimensions"),
    ("empty", np.ones((9, 0)), SMALL, "empty"),
    ("wrong-bins", np.ones((300, 12)), SMALL, "n_fft=598"),
    ("transposed", np.ones((12, 9)), SMALL, "layout"),
    ("n-mels-mismatch", np.ones((80, 12)), MEL, "n_mels=80"),
    ("too-few-frames", np.ones((9, 1)), SMALL, "too few"),
]


@pytest.mark.parametrize("name, array, config, message", CATALOGUE,
                         ids=[c[0] for c in CATALOGUE])
def test_api_catalogue(name, array, config, message):
  with pytest.raises(SpecInvError, match=message):
    tfspecinv.reconstruct(array, config, gl_iters=2, lbfgs_iters=2)


def test_api_wrong_sample_rate_for_fmax():
  with pytest.raises(SpecInvError, match="above the Nyquist"):
    tfspecinv.SpectrogramConfig.librosa(sample_rate=8000, fmax=8000.0)


def test_api_silence_and_huge_values():
  silent, _ = tfspecinv.reconstruct(np.zeros((9, 12)), SMALL, gl_iters=2, lbfgs_iters=2)
  assert np.all(silent == 0)
  rng = np.random.RandomState(0)
  loud, _ = tfspecinv.reconstruct(rng.rand(9, 12) * 1e30, SMALL, gl_iters=2, lbfgs_iters=2)
  assert np.all(np.isfinite(loud))


@hypothesis.settings(max_examples=40, deadline=None)
@hypothesis.given(hnp.arrays(
    np.float32, hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=14),
    elements=st.one_of(st.floats(0, 10, width=32), st.floats(width=32),
                       st.just(np.float32(1e30)), st.just(np.float32(0)))))
def test_fuzz_returns_finite_audio_or_raises_our_error(array):
  try:
    waveform, _ = tfspecinv.reconstruct(array, SMALL, gl_iters=2, lbfgs_iters=2)
  except SpecInvError:
    return
  frames = array.shape[-1]
  assert waveform.shape == array.shape[:-2] + (SMALL.num_samples(frames),)
  assert np.all(np.isfinite(waveform))


# ------------------------------------------------------------------------ CLI
def _cli(*args):
  return subprocess.run([sys.executable, MAIN, *args], cwd=ROOT, capture_output=True, text=True,
                        timeout=300)


def _check_one_line_failure(process, message, tmp_path, keep):
  assert process.returncode == 1, process.stderr
  lines = process.stderr.strip().splitlines()
  assert len(lines) == 1 and message in lines[0], process.stderr
  assert sorted(os.listdir(tmp_path)) == sorted(keep)


CLI_FLAGS = {"SMALL": ["--representation=stft", "--sample_rate=8000", "--n_fft=16",
                       "--hop_length=4", "--power=1"],
             "MEL": ["--representation=mel", "--sample_rate=22050", "--n_fft=512",
                     "--hop_length=128", "--n_mels=40"]}


@pytest.mark.parametrize("name, array, config, message",
                         [c for c in CATALOGUE if c[0] in ("inf", "negative", "wrong-bins",
                                                           "n-mels-mismatch", "too-few-frames")],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_cli_catalogue(tmp_path, name, array, config, message):
  np.save(tmp_path / "in.npy", array)
  flags = CLI_FLAGS["MEL" if config is MEL else "SMALL"]
  process = _cli(f"--input={tmp_path / 'in.npy'}", f"--output={tmp_path / 'out.wav'}", *flags,
                 "--gl_iters=2", "--lbfgs_iters=2")
  _check_one_line_failure(process, message, tmp_path, ["in.npy"])


@pytest.mark.parametrize("case, files, flags, message", [
    ("0-D array", {"in.npy": np.ones(())}, [], "2-D spectrogram"),
    ("1-D array", {"in.npy": np.ones(9)}, [], "2-D spectrogram"),
    ("empty array", {"in.npy": np.ones((9, 0))}, [], "empty"),
    ("truncated npy", {"in.npy": b"\x93NUMPY\x01\x00v\x00{'descr'"}, [], "corrupt"),
    ("corrupt wav", {"in.wav": b"RIFF\x10\x00\x00\x00WAVEfmt "}, [], "corrupt"),
    ("fmax above Nyquist", {"in.npy": np.ones((9, 12))}, ["--fmax=5000"], "Nyquist"),
    ("unwritable output", {"in.npy": np.ones((9, 12))}, ["--output=/nonexistent/o.wav"],
     "does not exist"),
])
def test_cli_file_and_setting_errors(tmp_path, case, files, flags, message):
  for name, content in files.items():
    if isinstance(content, bytes):
      (tmp_path / name).write_bytes(content)
    else:
      np.save(tmp_path / name, content)
  source = tmp_path / next(iter(files))
  output = [f for f in flags if f.startswith("--output=")] or [f"--output={tmp_path / 'o.wav'}"]
  rest = [f for f in flags if not f.startswith("--output=")]
  process = _cli(f"--input={source}", *output, *CLI_FLAGS["SMALL"], *rest, "--gl_iters=2",
                 "--lbfgs_iters=2")
  _check_one_line_failure(process, message, tmp_path, list(files))


def test_cli_corrupt_tfrecord_leaves_no_output_folder(tmp_path):
  (tmp_path / "in.tfrecord").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not a record")
  process = _cli(f"--input={tmp_path / 'in.tfrecord'}", f"--output={tmp_path / 'wavs'}",
                 *CLI_FLAGS["SMALL"], "--gl_iters=2", "--lbfgs_iters=2")
  _check_one_line_failure(process, "corrupt", tmp_path, ["in.tfrecord"])


def test_cli_silence_and_huge_values(tmp_path):
  """One folder run (one process) over both inputs: silence gives silence, 1e30 stays finite."""
  folder = tmp_path / "in"
  folder.mkdir()
  np.save(folder / "silence.npy", np.zeros((9, 12)))
  np.save(folder / "huge.npy", np.full((9, 12), 1e30))
  process = _cli(f"--input={folder}", f"--output={tmp_path / 'out'}", *CLI_FLAGS["SMALL"],
                 "--gl_iters=2", "--lbfgs_iters=2", "--quiet")
  assert process.returncode == 0, process.stderr
  import soundfile  # pylint: disable=import-outside-toplevel
  silence, _ = soundfile.read(tmp_path / "out" / "silence.wav")
  huge, _ = soundfile.read(tmp_path / "out" / "huge.wav")
  assert len(silence) > 0 and np.all(silence == 0)
  assert len(huge) == len(silence) and np.all(np.isfinite(huge)) and np.any(huge != 0)

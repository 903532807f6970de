"""Spectrogram pictures made the common way (librosa + specshow) back to audio."""

import os
import subprocess
import sys

import librosa
import librosa.display
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position
import pytest  # pylint: disable=wrong-import-position

import tfspecinv  # pylint: disable=wrong-import-position
from tfspecinv import image  # pylint: disable=wrong-import-position

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "samples", "speech_female_ljspeech.wav")
SR, N_FFT, HOP = 22050, 1024, 256


def save_specshow(db, path, cmap="gray"):
  """`specshow` of a dB spectrogram, saved without axes, one pixel per cell."""
  figure = plt.figure(figsize=(db.shape[1] / 100.0, db.shape[0] / 100.0), dpi=100)
  axis = figure.add_axes([0, 0, 1, 1])
  axis.set_axis_off()
  librosa.display.specshow(db, sr=SR, hop_length=HOP, cmap=cmap, ax=axis)
  figure.savefig(path, dpi=100)
  plt.close(figure)


@pytest.fixture(scope="module")
def speech_db(tmp_path_factory):
  y, _ = librosa.load(SAMPLE, sr=SR)
  db = librosa.amplitude_to_db(np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP)), ref=np.max)
  folder = tmp_path_factory.mktemp("pictures")
  save_specshow(db, folder / "gray.png")
  save_specshow(db, folder / "magma.png", cmap="magma")
  return y, db, folder


def test_grayscale_png_reads_back_within_quantisation(speech_db):
  _, db, folder = speech_db
  values, note = image.read_spectrogram_image(str(folder / "gray.png"), (-80, 0),
                                              shape=db.shape)
  assert note is None and values.shape == db.shape
  # 8 bits over 80 dB: half a grey level is 0.16 dB; allow for antialiasing at edges.
  assert np.median(np.abs(values - db)) < 0.2
  assert np.mean(np.abs(values - db)) < 1.0


def test_colormap_png_reads_back(speech_db):
  _, db, folder = speech_db
  values, _ = image.read_spectrogram_image(str(folder / "magma.png"), (-80, 0), "magma",
                                           shape=db.shape)
  assert np.median(np.abs(values - db)) < 0.4


def test_grayscale_png_gives_intelligible_speech(speech_db):
  from pystoi import stoi  # pylint: disable=import-outside-toplevel
  y, db, folder = speech_db
  values, _ = image.read_spectrogram_image(str(folder / "gray.png"), (-80, 0), shape=db.shape)
  config = image.image_config(tfspecinv.SpectrogramConfig.librosa(
      sample_rate=SR, n_fft=N_FFT, hop_length=HOP, power=1.0), (-80, 0))
  waveform, _ = tfspecinv.reconstruct(values, config, length=len(y))
  assert stoi(y, waveform, SR, extended=False) >= 0.8


def test_size_mismatch_needs_resize(speech_db):
  _, db, folder = speech_db
  with pytest.raises(tfspecinv.SpecInvError, match="--resize"):
    image.read_spectrogram_image(str(folder / "gray.png"), (-80, 0), shape=(257, None))
  values, note = image.read_spectrogram_image(str(folder / "gray.png"), (-80, 0),
                                              shape=(257, None), resize=True)
  assert values.shape == (257, db.shape[1]) and "resized" in note


def test_corrupt_picture(tmp_path):
  (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
  with pytest.raises(tfspecinv.SpecInvError, match="corrupt"):
    image.read_spectrogram_image(str(tmp_path / "bad.png"), (-80, 0))


def test_cli_inverts_a_picture(tmp_path, speech_db):
  y, _, folder = speech_db
  out = tmp_path / "o.wav"
  run = lambda *a: subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), *a], cwd=ROOT,
                                  capture_output=True, text=True, timeout=300)
  missing = run(f"--input={folder / 'gray.png'}", f"--output={out}")
  assert missing.returncode == 2 and "--db_range" in missing.stderr
  process = run(f"--input={folder / 'gray.png'}", f"--output={out}", "--db_range=-80,0",
                "--n_fft=1024", "--hop_length=256", "--sample_rate=22050", f"--length={len(y)}",
                "--lbfgs_iters=50")
  assert process.returncode == 0, process.stderr
  import soundfile  # pylint: disable=import-outside-toplevel
  samples, sr = soundfile.read(out)
  assert sr == SR and len(samples) == len(y) and np.abs(samples).max() > 0.5

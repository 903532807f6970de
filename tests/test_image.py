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
  with pytest.raises(tfspecinv.SpecInvError, match="truncated or corrupt"):
    image.read_spectrogram_image(str(tmp_path / "bad.png"), (-80, 0))
  (tmp_path / "text.png").write_bytes(b"hello, not a picture")
  with pytest.raises(tfspecinv.SpecInvError, match="not a PNG or JPEG"):
    image.read_spectrogram_image(str(tmp_path / "text.png"), (-80, 0))


# ------------------------------------------------------------- large pictures
BIG = 9000  # Pixels a side: 81 M pixels, a few MB as a grayscale JPEG.


@pytest.fixture(scope="module")
def big_jpeg(speech_db):
  """The speech dB spectrogram as a 9000x9000 grayscale JPEG (cells drawn as blocks)."""
  from PIL import Image  # pylint: disable=import-outside-toplevel
  _, db, folder = speech_db
  grey = np.round((np.clip(db, -80, 0) + 80) / 80 * 255).astype(np.uint8)[::-1]
  path = folder / "big.jpg"
  Image.fromarray(grey).resize((BIG, BIG), Image.NEAREST).save(path, quality=90)
  small = folder / "small.png"
  Image.fromarray(grey).resize((BIG // 8, BIG // 8), Image.BOX).save(small)
  return db, str(path), str(small)


def test_large_jpeg_is_decoded_at_reduced_scale(big_jpeg):
  db, path, _ = big_jpeg
  decoded = image._decode(path, needed=db.shape)  # pylint: disable=protected-access
  assert decoded.ratio == 8 and decoded.pixels.shape[:2] == (BIG // 8, BIG // 8)
  assert decoded.size == (BIG, BIG) and decoded.rest == (1, 1)
  # A width kept as the frame count is never reduced, so neither is the JPEG.
  assert image._decode(path, needed=(1200, None)).ratio == 1  # pylint: disable=protected-access
  # At least twice the pixels needed are kept: 1/8 of 9000 is 1125 >= 2 x 562.
  reduction = image._reduction  # pylint: disable=protected-access
  assert reduction(BIG, 562) == 8 and reduction(BIG, 563) == 4 and reduction(BIG, 1200) == 2
  assert reduction(BIG, 4500) == 1 and reduction(BIG, None) == 1


def test_large_jpeg_reads_back_like_a_small_rendering(big_jpeg):
  db, path, small = big_jpeg
  values, note = image.read_spectrogram_image(path, (-80, 0), shape=db.shape, resize=True)
  assert values.shape == db.shape and "1/8" in note and "9000x9000" in note
  direct, _ = image.read_spectrogram_image(small, (-80, 0), shape=db.shape, resize=True)
  assert np.median(np.abs(values - direct)) < 0.5
  assert np.median(np.abs(values - db)) < 0.5 and np.mean(np.abs(values - db)) < 1.5


def test_truncated_pictures_say_so(big_jpeg, speech_db, tmp_path):
  _, path, _ = big_jpeg
  data = open(path, "rb").read()
  (tmp_path / "cut.jpg").write_bytes(data[:len(data) // 2])
  with pytest.raises(tfspecinv.SpecInvError, match="JPEG file is truncated") as error:
    image.read_spectrogram_image(str(tmp_path / "cut.jpg"), (-80, 0), shape=(513, 443),
                                 resize=True)
  assert "limit" not in str(error.value) and len(str(error.value).splitlines()) == 1
  png = (speech_db[2] / "gray.png").read_bytes()
  (tmp_path / "cut.png").write_bytes(png[:len(png) - 100])
  with pytest.raises(tfspecinv.SpecInvError, match="PNG file is truncated"):
    image.read_spectrogram_image(str(tmp_path / "cut.png"), (-80, 0))


def test_too_large_for_the_decoder_is_not_called_corrupt(big_jpeg, monkeypatch):
  db, path, _ = big_jpeg
  monkeypatch.setattr(image, "_TF_JPEG_LIMIT", 1 << 22)  # As a 20000 px picture meets 2^29.
  monkeypatch.setitem(sys.modules, "PIL", None)  # No Pillow to fall back on.
  with pytest.raises(tfspecinv.SpecInvError, match="decoder limit") as error:
    image.read_spectrogram_image(path, (-80, 0), shape=(db.shape[0], None), resize=True)
  message = str(error.value)
  assert "corrupt" not in message and "truncated" not in message
  assert "9000x9000" in message and "pillow" in message and "--duration" in message
  # At 1/8 scale the same picture fits the limit.
  values, _ = image.read_spectrogram_image(path, (-80, 0), shape=db.shape, resize=True)
  assert values.shape == db.shape


def test_pillow_decodes_past_the_decoder_limit(big_jpeg, speech_db, monkeypatch):
  db, path, _ = big_jpeg
  expected, _ = image.read_spectrogram_image(path, (-80, 0), shape=db.shape, resize=True)
  png = str(speech_db[2] / "gray.png")
  direct, _ = image.read_spectrogram_image(png, (-80, 0))
  monkeypatch.setattr(image, "_TF_JPEG_LIMIT", 1 << 20)
  monkeypatch.setattr(image, "_TF_PNG_LIMIT", 1 << 10)
  assert image._decode(png).decoder == "pillow"  # pylint: disable=protected-access
  np.testing.assert_array_equal(image.read_spectrogram_image(png, (-80, 0))[0], direct)
  decoded = image._decode(path, needed=db.shape)  # pylint: disable=protected-access
  assert decoded.decoder == "pillow" and decoded.ratio == 8
  values, _ = image.read_spectrogram_image(path, (-80, 0), shape=db.shape, resize=True)
  assert np.median(np.abs(values - expected)) < 0.5


def test_sixteen_bit_png_keeps_its_precision(tmp_path):
  from PIL import Image  # pylint: disable=import-outside-toplevel
  levels = np.linspace(0, 65535, 64 * 40).reshape(64, 40).astype(np.uint16)
  Image.fromarray(levels).save(tmp_path / "deep.png")
  values, _ = image.read_spectrogram_image(str(tmp_path / "deep.png"), (-80, 0),
                                           origin="upper")
  np.testing.assert_allclose(values, -80 + levels / 65535.0 * 80, atol=1e-3)


@pytest.fixture(scope="module")
def issue_jpeg(tmp_path_factory):
  """The issue's picture, at 450 dpi (9000x9000 px) instead of 1000 to stay quick."""
  y, _ = librosa.load(SAMPLE, sr=SR)
  figure = plt.figure(figsize=(20, 20))
  axis = figure.add_axes([0, 0, 1, 1])
  axis.set_axis_off()
  librosa.display.specshow(librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=np.max),
                           cmap="gray", ax=axis)
  path = tmp_path_factory.mktemp("issue") / "spec.jpg"
  figure.savefig(path, dpi=450, bbox_inches="tight", pad_inches=0)
  plt.close(figure)
  return y, str(path)


def test_issue_picture_gives_intelligible_speech(issue_jpeg):
  from pystoi import stoi  # pylint: disable=import-outside-toplevel
  y, path = issue_jpeg
  config = image.image_config(tfspecinv.SpectrogramConfig.librosa(sample_rate=SR, power=1.0),
                              (-80, 0))
  shape = (config.n_features, config.num_frames(len(y)))
  assert image.picture_size(path)[0] >= 8 * shape[0]
  values, note = image.read_spectrogram_image(path, (-80, 0), shape=shape, resize=True)
  assert "decoded at 1/4 x 1/8 scale" in note  # JPEG at 1/4: 2250 rows >= 2 x 1025 bins.
  waveform, _ = tfspecinv.reconstruct(values, config, length=len(y), gl_iters=200,
                                      lbfgs_iters=50)
  assert stoi(y, waveform, SR, extended=False) >= 0.75


def _main(*args, timeout=300):
  return subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), *args], cwd=ROOT,
                        capture_output=True, text=True, timeout=timeout)


def test_cli_resize_needs_the_duration(issue_jpeg, tmp_path):
  y, path = issue_jpeg
  out = tmp_path / "o.wav"
  refused = _main(path, str(out), "--db_range=-80,0", "--resize", timeout=120)
  assert refused.returncode == 1 and not out.exists()
  assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
  width = image.picture_size(path)[1]
  assert f"the picture is {width} px wide; taken as {width} frames that is" in refused.stderr
  assert "at 22050 Hz with hop 512; pass --duration=SECONDS or --length=SAMPLES" in refused.stderr
  process = _main(path, str(out), "--db_range=-80,0", "--resize", f"--duration={len(y) / SR}",
                  "--gl_iters=16", "--lbfgs_iters=4")
  assert process.returncode == 0, process.stderr
  assert "decoded at 1/4 x 1/8 scale" in process.stderr
  import soundfile  # pylint: disable=import-outside-toplevel
  samples, sr = soundfile.read(out)
  assert sr == SR and len(samples) == len(y)


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

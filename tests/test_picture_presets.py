"""Pictures from diffusion models: the `riffusion` and `audio_diffusion` presets.

References, written from each project's published code:

* Riffusion (riffusion/riffusion-hobby): `riffusion/spectrogram_converter.py`
  (torchaudio `Spectrogram(power=None, center=True, pad_mode='reflect')`,
  `abs`, `MelScale(norm=None, mel_scale='htk')`), `riffusion/spectrogram_params.py`
  (44100 Hz, 10/100/400 ms -> hop 441, win 4410, n_fft 17640; 512 mels,
  0-10000 Hz), `riffusion/util/image_util.py` `image_from_spectrogram`
  (`data / max`, `** 0.25`, `* 255`, `255 - data`, `astype(uint8)`, mode L to
  RGB, `FLIP_TOP_BOTTOM`). torchaudio's `melscale_fbanks` (HTK, no norm,
  frequency grid `linspace(0, sample_rate // 2, n_freqs)`) is written out too.
* teticio/audio-diffusion `audiodiffusion/mel.py` `Mel.audio_slice_to_image`:
  librosa `melspectrogram(sr=22050, n_fft=2048, hop_length=512, n_mels=256)`,
  `power_to_db(S, ref=np.max, top_db=80)`, `((log_S + 80) * 255 / 80).clip(0,
  255) + 0.5` to uint8, `Image.fromarray` (row 0 the first mel band).
"""

import os
import subprocess
import sys

import librosa
import numpy as np
import pytest
import scipy.signal
import soundfile as sf
import tensorflow as tf
from PIL import Image

import tfspecinv
from tfspecinv import conventions, image, transforms
from tfspecinv.config import SpectrogramConfig
from tfspecinv.errors import SpecInvError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "samples", "speech_female_ljspeech.wav")
# Tolerances of today's presets (tests/test_conventions.py): the largest error
# relative to the largest value, 1e-7 in float64 and 1e-5 in float32.
TOLERANCE = {np.float64: 1e-7, np.float32: 1e-5}


def _max_error(got, expected):
  assert got.shape == expected.shape
  return float(np.max(np.abs(got - expected)) / np.max(np.abs(expected)))


# ------------------------------------------------------------ references
def _htk_mel(f):
  return 2595.0 * np.log10(1.0 + f / 700.0)


def _htk_hz(m):
  return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def reference_riffusion_mel(y, sample_rate=44100, n_fft=17640, hop=441, win=4410, n_mels=512,
                            f_min=0.0, f_max=10000.0):
  """Riffusion's `mel_amplitudes_from_waveform` in NumPy float64: `[n_mels, frames]`."""
  y = np.asarray(y, np.float64)
  padded = np.pad(y, n_fft // 2, mode="reflect")  # torch.stft(center=True, 'reflect').
  window = np.zeros(n_fft)
  left = (n_fft - win) // 2  # torch.stft centres a shorter window in the n_fft frame.
  window[left:left + win] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)  # periodic.
  frames = 1 + (len(padded) - n_fft) // hop
  index = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
  magnitude = np.abs(np.fft.rfft(padded[index] * window, axis=-1)).T  # [bins, frames]
  # torchaudio.functional.melscale_fbanks(norm=None, mel_scale='htk').
  all_freqs = np.linspace(0, sample_rate // 2, n_fft // 2 + 1)
  f_pts = _htk_hz(np.linspace(_htk_mel(f_min), _htk_mel(f_max), n_mels + 2))
  f_diff = np.diff(f_pts)
  slopes = f_pts[None, :] - all_freqs[:, None]
  down = -slopes[:, :-2] / f_diff[:-1]
  up = slopes[:, 2:] / f_diff[1:]
  fb = np.maximum(0.0, np.minimum(down, up))  # [bins, n_mels]
  return fb.T @ magnitude


def reference_riffusion_levels(mel):
  """`image_from_spectrogram` before `astype(uint8)`: `255 - 255 * (mel / max) ** 0.25`."""
  return 255.0 - np.power(mel / np.max(mel), 0.25) * 255.0


def reference_riffusion_picture(mel):
  """The picture `image_from_spectrogram` returns: uint8 RGB `[n_mels, frames, 3]`, flipped."""
  grey = reference_riffusion_levels(mel).astype(np.uint8)[::-1]
  return np.repeat(grey[..., None], 3, axis=-1)


def reference_audio_diffusion_levels(y, sr=22050, n_fft=2048, hop=512, n_mels=256, top_db=80):
  """`Mel.audio_slice_to_image` before `+ 0.5` and `astype(uint8)`: `[n_mels, frames]`."""
  S = librosa.feature.melspectrogram(y=np.asarray(y, np.float64), sr=sr, n_fft=n_fft,
                                     hop_length=hop, n_mels=n_mels)
  log_S = librosa.power_to_db(S, ref=np.max, top_db=top_db)
  return ((log_S + top_db) * 255 / top_db).clip(0, 255)


def reference_audio_diffusion_picture(y):
  return (reference_audio_diffusion_levels(y) + 0.5).astype(np.uint8)


# -------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def speech():
  audio, rate = sf.read(SAMPLE, dtype="float64")
  return audio, rate


def _at(audio, rate, sample_rate, samples):
  """`samples` of the clip at `sample_rate`, padded with silence (as both projects pad)."""
  out = scipy.signal.resample_poly(audio, sample_rate, rate) if sample_rate != rate else audio
  out = out[:samples]
  return np.pad(out, (0, samples - len(out)))


RIFFUSION_SAMPLES = 511 * 441  # 512 frames: a 512x512 picture (5.11 s).
AUDIO_DIFFUSION_SAMPLES = 256 * 512 - 1  # audio-diffusion's slice_size: 256 frames.


# ---------------------------------------------------------------- presets
@pytest.mark.parametrize("name", ["riffusion", "audio_diffusion"])
def test_preset_takes_overrides_and_has_its_picture_map(name):
  assert conventions.get(name)(n_mels=64).n_mels == 64
  assert getattr(SpectrogramConfig, name)(n_mels=64).n_mels == 64
  assert image.picture_map(name) is image.PICTURE_MAPS[name]


def test_riffusion_preset_fields():
  cfg = conventions.make("riffusion")
  assert (cfg.sample_rate, cfg.n_fft, cfg.hop_length, cfg.win_length, cfg.n_mels) == (
      44100, 17640, 441, 4410, 512)
  assert (cfg.fmin, cfg.fmax, cfg.mel_scale, cfg.mel_norm, cfg.power, cfg.scale) == (
      0.0, 10000.0, "htk", "none", 1.0, "linear")
  assert cfg.num_frames(RIFFUSION_SAMPLES) == 512


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_riffusion_levels_equal_the_reference(speech, dtype):
  y = _at(*speech, 44100, RIFFUSION_SAMPLES)
  expected = reference_riffusion_levels(reference_riffusion_mel(y))
  mel = transforms.forward(tf.constant(y.astype(dtype)), conventions.make("riffusion")).numpy()
  levels = image.encode_levels(mel, image.PICTURE_MAPS["riffusion"])
  assert levels.shape == expected.shape == (512, 512) and levels.dtype == dtype
  assert _max_error(mel, reference_riffusion_mel(y)) <= TOLERANCE[dtype]  # The mel itself.
  # The 0.25 power magnifies float32 FFT rounding in quiet bins, as the log does
  # in tests/test_conventions.py: float32 is held to 1e-5 before the map.
  assert _max_error(levels, expected) <= (1e-7 if dtype == np.float64 else 1e-4)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_audio_diffusion_levels_equal_the_reference(speech, dtype):
  y = _at(*speech, 22050, AUDIO_DIFFUSION_SAMPLES)
  expected = reference_audio_diffusion_levels(y)
  config = conventions.make("audio_diffusion")
  db = transforms.forward(tf.constant(y.astype(dtype)), config).numpy()
  levels = image.encode_levels(db, image.PICTURE_MAPS["audio_diffusion"])
  assert levels.shape == expected.shape == (256, 256) and levels.dtype == dtype
  assert _max_error(levels, expected) <= TOLERANCE[dtype]


# ------------------------------------------------------------- decoding
def test_riffusion_picture_decodes_within_quantisation(speech, tmp_path):
  y = _at(*speech, 44100, RIFFUSION_SAMPLES)
  mel = reference_riffusion_mel(y)
  path = str(tmp_path / "riff.png")
  Image.fromarray(reference_riffusion_picture(mel), mode="RGB").save(path)
  values, note = image.read_picture(path, image.PICTURE_MAPS["riffusion"], shape=(512, 512))
  assert note is None and values.shape == (512, 512)
  # One grey level of (mel / max) ** 0.25: truncation puts the value within it.
  levels = np.power(mel / mel.max(), 0.25)
  got = np.power(values, 0.25)
  assert np.all(got >= levels - 1e-6) and np.all(got <= levels + 1 / 255 + 1e-6)


def test_audio_diffusion_picture_decodes_within_quantisation(speech, tmp_path):
  y = _at(*speech, 22050, AUDIO_DIFFUSION_SAMPLES)
  path = str(tmp_path / "ad.png")
  Image.fromarray(reference_audio_diffusion_picture(y)).save(path)
  values, _ = image.read_picture(path, image.PICTURE_MAPS["audio_diffusion"], shape=(256, 256))
  expected = reference_audio_diffusion_levels(y) * 80 / 255 - 80  # dB, unquantised.
  assert np.max(np.abs(values - expected)) <= 0.5 * 80 / 255 + 1e-4  # Half a grey level.


def test_stereo_picture_reads_one_channel_and_refuses_the_mean(speech, tmp_path):
  y = _at(*speech, 44100, RIFFUSION_SAMPLES)
  mel = reference_riffusion_mel(y)
  left = reference_riffusion_levels(mel).astype(np.uint8)[::-1]
  right = reference_riffusion_levels(mel[:, ::-1]).astype(np.uint8)[::-1]
  # image_from_spectrogram with two channels: [zeros, left, right] as R, G, B.
  path = str(tmp_path / "stereo.png")
  Image.fromarray(np.stack([np.zeros_like(left), left, right], axis=-1), mode="RGB").save(path)
  with pytest.raises(SpecInvError, match=r"stereo.png: the picture is in colour .* "
                                         r"--channel=g or --channel=b"):
    image.read_picture(path, image.PICTURE_MAPS["riffusion"])
  values, _ = image.read_picture(path, image.PICTURE_MAPS["riffusion"].replace(channel="b"))
  np.testing.assert_allclose(values[:, ::-1], np.power(1 - left[::-1] / 255.0, 4), atol=1e-6)


@pytest.mark.parametrize("fields, message", [
    (dict(value_map="power"), r"needs image_power > 0"),
    (dict(value_map="power", image_power=0.25, db_range=(-80, 0)), r"is for value_map='db'"),
    (dict(value_map="db"), r"needs db_range"),
    (dict(value_map="db", db_range=(-80, 0), image_power=0.5), r"is for value_map='power'"),
    (dict(value_map="log", db_range=(-80, 0)), r"value_map='log' is not supported"),
    (dict(db_range=(0, -80)), r"the high end must exceed"),
    (dict(db_range=(-80, 0), channel="alpha"), r"channel='alpha' is not supported"),
    (dict(db_range=(-80, 0), channel="g", colormap="magma"), r"needs all three"),
])
def test_picture_map_refuses(fields, message):
  with pytest.raises(SpecInvError, match=message):
    image.PictureMap(**fields)


# ------------------------------------------------------------ command line
def _main(*args, timeout=600):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  return subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), *args], cwd=ROOT,
                        capture_output=True, text=True, timeout=timeout, env=env)


def test_cli_riffusion_picture_by_name(speech, tmp_path):
  y = _at(*speech, 44100, RIFFUSION_SAMPLES)
  path = tmp_path / "riff.png"
  Image.fromarray(reference_riffusion_picture(reference_riffusion_mel(y)), mode="RGB").save(path)
  out = tmp_path / "o.wav"
  process = _main(str(path), str(out), "--convention=riffusion", "--gl_iters=8",
                  "--lbfgs_iters=4")
  assert process.returncode == 0, process.stderr
  samples, rate = sf.read(str(out))
  assert rate == 44100 and len(samples) == conventions.make("riffusion").num_samples(512)
  assert 0.9 <= np.max(np.abs(samples)) <= 1.0  # Peak-normalised: the level is unknown.


def test_cli_audio_diffusion_picture_by_name(speech, tmp_path):
  y = _at(*speech, 22050, AUDIO_DIFFUSION_SAMPLES)
  path = tmp_path / "ad.png"
  Image.fromarray(reference_audio_diffusion_picture(y)).save(path)
  out = tmp_path / "o.wav"
  process = _main(str(path), str(out), "--convention=audio_diffusion", "--gl_iters=8",
                  "--lbfgs_iters=4")
  assert process.returncode == 0, process.stderr
  samples, rate = sf.read(str(out))
  assert rate == 22050 and len(samples) == 255 * 512


@pytest.mark.parametrize("flags, status, message", [
    (["--convention=riffusion", "--db_range=-80,0"], 2,
     r"--db_range='-80,0' is for --value_map=db pictures; .*drop --db_range"),
    (["--value_map=power"], 2, r"--value_map=power needs --image_power=P"),
    (["--convention=audio_diffusion", "--image_power=0.25"], 2,
     r"--image_power=0.25 is for --value_map=power pictures"),
    (["--convention=riffusion", "--rows=512"], 1,
     r"the picture is in colour \(its 3 channels differ by 200 of 255 levels on average\) but "
     r"the value map reads grey levels; pass --colormap=NAME .*--channel=r/g/b"),
    (["--convention=audio_diffusion"], 1,
     r"the picture is 4 rows x 6 columns but the settings expect 256 bins .*--n_mels"),
])
def test_cli_picture_map_that_does_not_fit(flags, status, message, tmp_path):
  rows = [int(f.split("=")[1]) for f in flags if f.startswith("--rows=")] or [4]
  flags = [f for f in flags if not f.startswith("--rows=")]
  path = tmp_path / "coloured.png"
  rgb = np.zeros((rows[0], 6, 3), np.uint8)
  rgb[..., 0] = 200  # Red: not grey.
  Image.fromarray(rgb, mode="RGB").save(path)
  out = tmp_path / "o.wav"
  process = _main(str(path), str(out), *flags, timeout=300)
  assert process.returncode == status, process.stderr
  assert len(process.stderr.strip().splitlines()) == 1, process.stderr
  assert __import__("re").search(message, process.stderr), process.stderr
  assert not out.exists() and os.listdir(tmp_path) == ["coloured.png"]


def test_unnamed_recipe_by_flags_equals_the_preset(speech, tmp_path):
  """The five-flag description of an audio-diffusion picture reads what the name reads."""
  y = _at(*speech, 22050, AUDIO_DIFFUSION_SAMPLES)
  path = tmp_path / "ad.png"
  Image.fromarray(reference_audio_diffusion_picture(y)).save(path)
  by_name = _main(str(path), str(tmp_path / "a.wav"), "--convention=audio_diffusion",
                  "--gl_iters=4", "--lbfgs_iters=0", "--method=lbfgs", "--seed=1")
  by_flags = _main(str(path), str(tmp_path / "b.wav"), "--db_range=-80,0", "--origin=upper",
                   "--representation=mel", "--n_mels=256", "--hop_length=512", "--power=2",
                   "--gl_iters=4", "--lbfgs_iters=0", "--method=lbfgs", "--seed=1")
  assert by_name.returncode == 0 and by_flags.returncode == 0, by_name.stderr + by_flags.stderr
  np.testing.assert_array_equal(sf.read(str(tmp_path / "a.wav"))[0],
                                sf.read(str(tmp_path / "b.wav"))[0])

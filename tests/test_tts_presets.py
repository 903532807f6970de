"""The TTS toolkit presets (coqui, keithito, rtvc) against NumPy references of their code.

Each reference is written here, in float64 NumPy, from the toolkit's published
code (file named in its docstring): our own padding, framing, Hann window and
FFT, SciPy's `lfilter` for pre-emphasis, librosa's mel basis where the
toolkit calls `librosa.filters.mel`. The presets must match them to 1e-7 in
float64 and, in float32, to 1e-5 of the largest linear value (as the other
presets in tests/test_conventions.py).
"""

import json
import math
import os
import subprocess
import sys

import librosa
import numpy as np
import pytest
import scipy.signal
import soundfile
import tensorflow as tf

import tfspecinv
from tfspecinv import SpecInvError, conventions
from tfspecinv import emphasis
from tfspecinv import transforms

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = os.path.join(ROOT, "main.py")


# ------------------------------------------------------------ references
def _librosa_stft_magnitude(y, n_fft, hop, win, pad_mode):
  """`librosa.stft(y, n_fft, hop, win, center=True, pad_mode)` magnitudes `[bins, frames]`.

  Periodic Hann of `win` samples centred in the `n_fft` frame (librosa
  `get_window(fftbins=True)` + `pad_center`), `n_fft // 2` padding each side.
  """
  window = np.zeros(n_fft)
  start = (n_fft - win) // 2
  window[start:start + win] = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(win) / win)
  padded = np.pad(y, n_fft // 2, mode=pad_mode)
  count = 1 + (len(padded) - n_fft) // hop
  index = np.arange(n_fft)[None, :] + hop * np.arange(count)[:, None]
  return np.abs(np.fft.rfft(padded[index] * window, axis=-1)).T


def coqui_reference(y, sample_rate=22050, fft_size=1024, hop_length=256, win_length=1024,
                    num_mels=80, mel_fmin=0.0, mel_fmax=None, preemphasis=0.0,
                    ref_level_db=20, min_level_db=-100, spec_gain=20.0, log_func="np.log10",
                    signal_norm=True, symmetric_norm=True, max_norm=4.0, clip_norm=True,
                    do_amp_to_db_mel=True, stft_pad_mode="reflect", mel_mean=None,
                    mel_std=None):
  """Coqui TTS `TTS/utils/audio/processor.py` `AudioProcessor.melspectrogram` + `normalize`.

  With `TTS/utils/audio/numpy_transforms.py`: `preemphasis` =
  `lfilter([1, -coef], [1], x)`, `stft` = `librosa.stft(pad_mode=...,
  window='hann', center=True)`, `build_mel_basis` = `librosa.filters.mel`,
  `amp_to_db` = `gain * log_base(max(1e-8, x))`; `normalize`: with stats
  (`mel_scaler`, `StandardScaler`) `(S - mean) / std`, else `S - ref_level_db`,
  `(S - min) / -min`, `* 2 max_norm - max_norm` (symmetric) or `* max_norm`,
  clipped to the range if `clip_norm`.
  """
  if preemphasis != 0:
    y = scipy.signal.lfilter([1, -preemphasis], [1], y)
  magnitude = _librosa_stft_magnitude(y, fft_size, hop_length, win_length, stft_pad_mode)
  basis = librosa.filters.mel(sr=sample_rate, n_fft=fft_size, n_mels=num_mels, fmin=mel_fmin,
                              fmax=mel_fmax)
  S = basis.astype(np.float64) @ magnitude
  if do_amp_to_db_mel:
    log = np.log10 if log_func == "np.log10" else np.log
    S = spec_gain * log(np.maximum(1e-8, S))
  if not signal_norm:
    return S
  if mel_mean is not None:
    return (S - mel_mean[:, None]) / mel_std[:, None]
  S = S - ref_level_db
  S_norm = (S - min_level_db) / (-min_level_db)
  if symmetric_norm:
    S_norm = 2 * max_norm * S_norm - max_norm
    return np.clip(S_norm, -max_norm, max_norm) if clip_norm else S_norm
  S_norm = max_norm * S_norm
  return np.clip(S_norm, 0, max_norm) if clip_norm else S_norm


def keithito_reference(y, sample_rate=20000, num_freq=1025, frame_length_ms=50,
                       frame_shift_ms=12.5, preemphasis=0.97, min_level_db=-100,
                       ref_level_db=20, num_mels=80, linear=False):
  """keithito/tacotron `util/audio.py` `melspectrogram` (and `spectrogram`), `hparams.py` defaults.

  `preemphasis` = `lfilter([1, -0.97], [1], x)`; `_stft` = `librosa.stft`
  with `_stft_parameters` (n_fft `(num_freq - 1) * 2`, hop and window from
  the milliseconds) under librosa 0.5.1 (`requirements.txt`: centred, reflect
  padding); `_build_mel_basis` = `librosa.filters.mel(sr, n_fft, n_mels)`;
  `_amp_to_db` = `20 log10(max(1e-5, x))`, minus `ref_level_db`;
  `_normalize` = `clip((S - min) / -min, 0, 1)`.
  """
  n_fft = (num_freq - 1) * 2
  hop = int(frame_shift_ms / 1000 * sample_rate)
  win = int(frame_length_ms / 1000 * sample_rate)
  D = _librosa_stft_magnitude(scipy.signal.lfilter([1, -preemphasis], [1], y), n_fft, hop, win,
                              "reflect")
  if not linear:
    D = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=num_mels).astype(np.float64) @ D
  S = 20 * np.log10(np.maximum(1e-5, D)) - ref_level_db
  return np.clip((S - min_level_db) / -min_level_db, 0, 1)


def rtvc_reference(y, sample_rate=16000, n_fft=800, hop_size=200, win_size=800, num_mels=80,
                   fmin=55, fmax=7600, preemphasis=0.97, min_level_db=-100, ref_level_db=20,
                   max_abs_value=4.0, symmetric_mels=True, pad_mode="constant"):
  """CorentinJ/Real-Time-Voice-Cloning `synthesizer/audio.py` `melspectrogram`, `synthesizer/hparams.py`.

  `preemphasis(wav, k)` = `lfilter([1, -k], [1], wav)`; `_stft` =
  `librosa.stft(y, n_fft, hop_length=hop_size, win_length=win_size)` (librosa
  0.9.2 in `pyproject.toml`: zero padding); `_build_mel_basis` =
  `librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax)`; `_amp_to_db` =
  `20 log10(max(exp(min_level_db / 20 * ln 10), x))`, minus `ref_level_db`;
  `_normalize` (clipping allowed, symmetric) =
  `clip(2 k (S - min) / -min - k, -k, k)`.
  """
  D = _librosa_stft_magnitude(scipy.signal.lfilter([1, -preemphasis], [1], y), n_fft, hop_size,
                              win_size, pad_mode)
  basis = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=num_mels, fmin=fmin,
                              fmax=fmax).astype(np.float64)
  min_level = np.exp(min_level_db / 20 * np.log(10))
  S = 20 * np.log10(np.maximum(min_level, basis @ D)) - ref_level_db
  k = max_abs_value
  if symmetric_mels:
    return np.clip(2 * k * ((S - min_level_db) / -min_level_db) - k, -k, k)
  return np.clip(k * ((S - min_level_db) / -min_level_db), 0, k)


# ------------------------------------------------------------------ clips
def _resample(audio, rate, target):
  if rate == target:
    return audio
  g = math.gcd(rate, target)
  return scipy.signal.resample_poly(audio, target // g, rate // g)


@pytest.fixture(scope="module")
def clips(speech, piano):
  """Real audio at the toolkits' rates: name -> samples (float64)."""
  speech_y, speech_sr = speech
  piano_y, piano_sr = piano
  out = {}
  for rate in (16000, 20000, 22050):
    out[f"speech{rate}"] = _resample(speech_y[:int(1.5 * speech_sr)], speech_sr, rate)
    out[f"piano{rate}"] = _resample(piano_y, piano_sr, rate)
  return out


_STATS = np.random.RandomState(3)
MEL_MEAN = _STATS.uniform(-60.0, -20.0, 80)
MEL_STD = _STATS.uniform(10.0, 25.0, 80)

# (id, preset, overrides, reference keyword arguments, reference, rate)
CASES = [
    ("coqui", "coqui", {}, {}, coqui_reference, 22050),
    # tacotron2-DDC / glow_tts / vits LJSpeech recipes: natural-log mels, no normalisation.
    ("coqui_ljspeech_recipe", "coqui",
     dict(signal_norm=False, mel_fmax=8000, spec_gain=1.0, log_func="np.log"),
     dict(signal_norm=False, mel_fmax=8000, spec_gain=1.0, log_func="np.log"),
     coqui_reference, 22050),
    ("coqui_preemphasis_range", "coqui",
     dict(preemphasis=0.98, ref_level_db=25, min_level_db=-90, mel_fmin=50, mel_fmax=7600,
          stft_pad_mode="constant"),
     dict(preemphasis=0.98, ref_level_db=25, min_level_db=-90, mel_fmin=50, mel_fmax=7600,
          stft_pad_mode="constant"), coqui_reference, 22050),
    ("coqui_asymmetric_unclipped", "coqui",
     dict(symmetric_norm=False, max_norm=1.0, clip_norm=False, num_mels=64, fft_size=2048,
          win_length=1024, hop_length=200, spec_gain=10.0),
     dict(symmetric_norm=False, max_norm=1.0, clip_norm=False, num_mels=64, fft_size=2048,
          win_length=1024, hop_length=200, spec_gain=10.0), coqui_reference, 22050),
    ("coqui_log_normalised", "coqui", dict(spec_gain=1.0, log_func="np.log"),
     dict(spec_gain=1.0, log_func="np.log"), coqui_reference, 22050),
    ("coqui_linear_mel", "coqui", dict(do_amp_to_db_mel=False, max_norm=1.0, clip_norm=False),
     dict(do_amp_to_db_mel=False, max_norm=1.0, clip_norm=False), coqui_reference, 22050),
    ("coqui_stats", "coqui",
     dict(stats_path="scale_stats.npy", feature_mean=MEL_MEAN, feature_scale=MEL_STD),
     dict(mel_mean=MEL_MEAN, mel_std=MEL_STD), coqui_reference, 22050),
    ("coqui_frame_ms_16k", "coqui",
     dict(sample_rate=16000, hop_length=None, win_length=None, frame_shift_ms=12.5,
          frame_length_ms=50, fft_size=1024),
     dict(sample_rate=16000, hop_length=200, win_length=800, fft_size=1024), coqui_reference,
     16000),
    ("keithito", "keithito", {}, {}, keithito_reference, 20000),
    ("keithito_linear", "keithito", dict(representation="stft"), dict(linear=True),
     keithito_reference, 20000),
    ("keithito_22k", "keithito", dict(sample_rate=22050, ref_level_db=15),
     dict(sample_rate=22050, ref_level_db=15), keithito_reference, 22050),
    ("rtvc", "rtvc", {}, {}, rtvc_reference, 16000),
    ("rtvc_reflect_asymmetric", "rtvc",
     dict(pad_mode="reflect", symmetric_mels=False, max_abs_value=2.0),
     dict(pad_mode="reflect", symmetric_mels=False, max_abs_value=2.0), rtvc_reference, 16000),
]
IDS = [case[0] for case in CASES]


def _config(preset, overrides):
  return conventions.make(preset, **overrides)


def _linear(values, cfg):
  """Stored features back to linear magnitudes (undoing stats, affine and the log)."""
  return tfspecinv.unscale_amplitude(tf.constant(values, tf.float64), cfg).numpy()


def _max_error(got, expected):
  assert got.shape == expected.shape
  return float(np.max(np.abs(got - expected)) / np.max(np.abs(expected)))


@pytest.mark.parametrize("case_id, preset, overrides, ref_kwargs, reference, rate", CASES,
                         ids=IDS)
@pytest.mark.parametrize("kind", ["speech", "piano"])
def test_forward_matches_toolkit_reference(case_id, preset, overrides, ref_kwargs, reference,
                                           rate, kind, clips):
  cfg = _config(preset, overrides)
  assert cfg.sample_rate == rate
  y = clips[f"{kind}{rate}"]
  expected = reference(y, **ref_kwargs)
  assert expected.shape == (cfg.n_features, cfg.num_frames(len(y)))
  got64 = transforms.forward(tf.constant(y, tf.float64), cfg).numpy()
  assert _max_error(got64, expected) <= 1e-7
  got32 = transforms.forward(tf.constant(y, tf.float32), cfg).numpy()
  # float32 rounding in weak bins is magnified by the log: compare linear values.
  assert _max_error(_linear(got32, cfg), _linear(expected, cfg)) <= 1e-5


def test_default_values_are_the_toolkits():
  coqui = conventions.make("coqui")
  assert (coqui.sample_rate, coqui.n_fft, coqui.hop_length, coqui.win_length, coqui.n_mels,
          coqui.fmin, coqui.fmax, coqui.pad_mode, coqui.preemphasis, coqui.clip_range) == (
              22050, 1024, 256, 1024, 80, 0.0, 11025.0, "reflect", 0.0, (-4.0, 4.0))
  keithito = conventions.make("keithito")
  assert (keithito.sample_rate, keithito.n_fft, keithito.hop_length, keithito.win_length,
          keithito.preemphasis, keithito.clip_range) == (20000, 2048, 250, 1000, 0.97, (0.0, 1.0))
  rtvc = conventions.make("rtvc")
  assert (rtvc.sample_rate, rtvc.n_fft, rtvc.hop_length, rtvc.fmin, rtvc.fmax, rtvc.preemphasis,
          rtvc.clip_range) == (16000, 800, 200, 55.0, 7600.0, 0.97, (-4.0, 4.0))
  for name in ("coqui", "keithito", "rtvc"):
    assert name in conventions.NAMES


def test_from_coqui_audio_reads_a_model_config(clips):
  # The audio section of a Coqui TTS model's config.json, as the released
  # LJSpeech tacotron2-DDC writes it (stats_path, trimming, Griffin-Lim fields).
  audio = {"fft_size": 1024, "win_length": 1024, "hop_length": 256, "frame_shift_ms": None,
           "frame_length_ms": None, "stft_pad_mode": "reflect", "sample_rate": 22050,
           "resample": False, "preemphasis": 0.0, "ref_level_db": 20, "do_sound_norm": False,
           "log_func": "np.log10", "do_trim_silence": True, "trim_db": 60, "do_rms_norm": False,
           "db_level": None, "power": 1.5, "griffin_lim_iters": 60, "num_mels": 80,
           "mel_fmin": 50.0, "mel_fmax": 7600.0, "spec_gain": 1, "do_amp_to_db_linear": True,
           "do_amp_to_db_mel": True, "pitch_fmax": 640.0, "pitch_fmin": 1.0,
           "signal_norm": True, "min_level_db": -100, "symmetric_norm": True, "max_norm": 4.0,
           "clip_norm": True, "stats_path": "scale_stats.npy"}
  with pytest.raises(SpecInvError, match="stats_path='scale_stats.npy'.*feature_mean="):
    conventions.from_coqui_audio(audio)
  cfg = conventions.from_coqui_audio(
      json.loads(json.dumps(audio)), stats={"mel_mean": MEL_MEAN / 20, "mel_std": MEL_STD / 20,
                                            "linear_mean": None, "linear_std": None})
  y = clips["speech22050"]
  expected = coqui_reference(y, mel_fmin=50.0, mel_fmax=7600.0, spec_gain=1.0,
                             mel_mean=MEL_MEAN / 20, mel_std=MEL_STD / 20)
  got = transforms.forward(tf.constant(y, tf.float64), cfg).numpy()
  assert _max_error(got, expected) <= 1e-7
  without_stats = dict(audio, stats_path=None)
  cfg = conventions.from_coqui_audio(without_stats)
  expected = coqui_reference(y, mel_fmin=50.0, mel_fmax=7600.0, spec_gain=1.0)
  got = transforms.forward(tf.constant(y, tf.float64), cfg).numpy()
  assert _max_error(got, expected) <= 1e-7
  with pytest.warns(UserWarning, match="skipped fields unknown.*colour"):
    conventions.from_coqui_audio(dict(without_stats, colour="blue"))


@pytest.mark.parametrize("fields, message", [
    (dict(log_func="np.log2"), "log_func='np.log2'"),
    (dict(min_level_db=0), "min_level_db=0"),
    (dict(fft_size=512, n_fft=1024), "fft_size=512 and n_fft=1024"),
    (dict(mel_fmax=12000), "fmax=12000 Hz is above the Nyquist"),
])
def test_coqui_refuses_what_coqui_refuses(fields, message):
  with pytest.raises(SpecInvError, match=message):
    conventions.make("coqui", **fields)


# ---------------------------------------------------------- inversion
@pytest.mark.parametrize("preset, rate", [("coqui", 22050), ("keithito", 20000),
                                          ("rtvc", 16000)])
def test_reconstruct_restores_the_waveform_level_and_features(preset, rate, clips):
  y = clips[f"speech{rate}"][:rate]
  cfg = conventions.make(preset, preemphasis=0.97)
  target = transforms.forward(tf.constant(y, tf.float64), cfg).numpy()
  waveform, result = tfspecinv.reconstruct(target, cfg, length=len(y), lbfgs_iters=150)
  assert waveform.shape == (len(y),)
  assert float(result.spectral_convergence_db) <= -25.0
  # The returned waveform is de-emphasised: its own features (pre-emphasis
  # applied by the forward model) fit the target as the engine reported (the
  # high-pass below the lowest mel band moves it a little).
  assert float(tfspecinv.fit_db(waveform, target, cfg)) <= float(
      result.spectral_convergence_db) + 1.0
  # ... and it has the level of the original, not of the emphasised signal.
  rms = lambda v: np.sqrt(np.mean(np.square(v)))
  assert 0.7 < rms(waveform) / rms(y) < 1.4


def test_clipped_top_values_are_lower_bounds(clips):
  # A loud clip whose top bands hit the +4 clip of the coqui preset: the
  # reconstruction stays above those cells (it is not pulled down to them).
  y = clips["speech22050"][:22050] * 30.0
  cfg = conventions.make("coqui")
  target = transforms.forward(tf.constant(y, tf.float64), cfg).numpy()
  top = target >= 4.0 - 1e-9
  assert 0.005 < top.mean() < 0.3
  waveform, _ = tfspecinv.reconstruct(target, cfg, length=len(y), lbfgs_iters=100)
  got = transforms.forward(tf.constant(waveform, tf.float64), cfg).numpy()
  assert np.mean(got[top] >= 4.0 - 0.05) > 0.95
  free = ~top & (target > -4.0 + 1e-9)
  assert np.sqrt(np.mean((got[free] - target[free]) ** 2)) < 0.15


def test_many_values_on_the_upper_clip_bound_warn(clips):
  cfg = conventions.make("coqui")
  y = clips["speech22050"][:22050] * 300.0
  target = transforms.forward(tf.constant(y, tf.float64), cfg).numpy()
  with pytest.warns(UserWarning, match=r"sit on the upper clip bound 4"):
    tfspecinv.reconstruct(target, cfg, gl_iters=1, lbfgs_iters=1)


def test_deemphasis_matches_scipy_and_streams():
  x = np.random.RandomState(0).randn(2, 3001)
  for a in (0.0, 0.5, 0.97):
    np.testing.assert_allclose(emphasis.preemphasize(tf.constant(x), a).numpy(),
                               scipy.signal.lfilter([1, -a], [1], x, axis=-1), atol=1e-12)
    np.testing.assert_allclose(emphasis.deemphasize(tf.constant(x), a).numpy(),
                               scipy.signal.lfilter([1], [1, -a], x, axis=-1), atol=1e-9)
  got32 = emphasis.deemphasize(tf.constant(x, tf.float32), 0.97).numpy()
  np.testing.assert_allclose(got32, scipy.signal.lfilter([1], [1, -0.97], x, axis=-1), atol=1e-4)
  stream = emphasis.DeemphasisStream(0.97)
  for chunk in np.split(x[0], [7, 700, 701, 2900]):
    stream(chunk)
  np.testing.assert_allclose(stream.waveform(), scipy.signal.lfilter([1], [1, -0.97], x[0]),
                             atol=1e-5)


def test_graph_and_block_mode_deemphasise(clips):
  y = clips["speech16000"][:16000]
  cfg = conventions.make("rtvc")
  target = transforms.forward(tf.constant(y, tf.float64), cfg).numpy()
  from tfspecinv import layers, longform  # pylint: disable=import-outside-toplevel
  graph = layers.invert(tf.constant(target[None], tf.float32), cfg, gl_iters=16,
                        lbfgs_iters=60).numpy()[0]
  blocks, result = longform.reconstruct_long(target, cfg, block_frames=32, lookahead_frames=8,
                                             gl_iters=16, lbfgs_iters=60)
  for waveform in (graph, blocks):
    assert waveform.shape == (cfg.num_samples(target.shape[1]),)
    assert float(tfspecinv.fit_db(waveform, target, cfg)) <= -15.0


# ------------------------------------------------------------------ CLI
@pytest.mark.parametrize("preset, rate, extra", [
    ("coqui", 22050, ()), ("keithito", 20000, ()), ("rtvc", 16000, ()),
    ("coqui", 22050, ("--preemphasis=0.97", "--fmax=8000")),
])
def test_cli_with_only_the_convention(preset, rate, extra, clips, tmp_path):
  y = clips[f"speech{rate}"][:rate]
  overrides = {"preemphasis": 0.97, "fmax": 8000.0} if extra else {}
  cfg = conventions.make(preset, **overrides)
  target = transforms.forward(tf.constant(y, tf.float64), cfg).numpy()
  features, out = tmp_path / "f.npy", tmp_path / "o.wav"
  np.save(features, target.astype(np.float32))
  process = subprocess.run(
      [sys.executable, MAIN, f"--convention={preset}", str(features), str(out), "--quiet",
       "--subtype=FLOAT", "--lbfgs_iters=150", *extra],
      cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert process.returncode == 0, process.stderr
  samples, got_rate = soundfile.read(out, dtype="float64")
  assert got_rate == rate and samples.shape == (cfg.num_samples(target.shape[1]),)
  assert float(tfspecinv.fit_db(samples, target, cfg)) <= -25.0


def test_cli_clip_range_flag_and_bad_values(clips, tmp_path):
  features, out = tmp_path / "f.npy", tmp_path / "o.wav"
  np.save(features, np.zeros([80, 20], np.float32))
  for flag, needle in (("--clip_range=4,-4", "--clip_range='4,-4': HIGH must exceed LOW"),
                       ("--clip_range=a", "--clip_range='a': use two numbers"),
                       ("--convention=coqi", "--convention")):
    process = subprocess.run([sys.executable, MAIN, str(features), str(out), flag, "--quiet"],
                             cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert process.returncode == 2, process.stderr
    assert needle in process.stderr and "Traceback" not in process.stderr
    assert not out.exists()
  process = subprocess.run([sys.executable, MAIN, str(features), str(out), "--quiet",
                            "--convention=coqui", "--preemphasis=1.5"],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert process.returncode == 1 and "preemphasis=1.5 must be" in process.stderr
  assert len(process.stderr.strip().splitlines()) == 1 and not out.exists()


def test_highpass_has_the_butterworth_filtfilt_gain():
  # Gain 1 / (1 + (fc / f)^4): |H|^2 of a 2nd-order Butterworth high-pass run
  # forward and backward (scipy.signal.sosfiltfilt(butter(2, fc, 'highpass'))).
  rate, t = 16000, np.arange(16000) / 16000
  for frequency in (20.0, 40.0, 160.0):
    x = np.sin(2 * np.pi * frequency * t)
    got = emphasis.highpass(tf.constant(x), 40.0, rate).numpy()
    middle = slice(4000, 12000)
    gain = np.sqrt(np.mean(got[middle] ** 2) / np.mean(x[middle] ** 2))
    assert abs(gain - 1 / (1 + (40.0 / frequency) ** 4)) < 0.01
    sos = scipy.signal.butter(2, 40.0, "highpass", fs=rate, output="sos")
    reference = scipy.signal.sosfiltfilt(sos, x)
    assert np.max(np.abs(got[middle] - reference[middle])) < 0.02

"""The `tensorflowtts` preset against a NumPy re-implementation of TensorFlowTTS's code.

Reference, written here in float64 NumPy from TensorSpeech/TensorFlowTTS
`tensorflow_tts/bin/preprocess.py` (`gen_audio_features`, and
`logmelfilterbank` of the older revision): `librosa.stft(audio, n_fft=fft_size,
hop_length=hop_size, win_length=win_length, window="hann", pad_mode="reflect")`
(centred: reflect-pad n_fft // 2; periodic Hann), `S = |D|`,
`mel_basis = librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax)`,
`mel = log10(maximum(mel_basis @ S, 1e-10)).T` (`[frames, mels]`), and the
normalised features `scaler.transform(mel)` = `(mel - mean_) / scale_` with
`stats.npy` = `np.stack((scaler.mean_, scaler.scale_))` of a scikit-learn
`StandardScaler` partially fitted on the training mels.
"""

import os
import subprocess
import sys

import librosa
import numpy as np
import pytest
import soundfile
import tensorflow as tf

import tfspecinv
from tfspecinv import SpectrogramConfig, conventions, transforms

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = os.path.join(ROOT, "main.py")


def tensorflowtts_reference(y, sr=22050, n_fft=1024, hop=256, n_mels=80, fmin=80.0,
                            fmax=7600.0, win=None):
  """TensorFlowTTS `preprocess.py` raw features `[frames, mels]` (float64).

  A `win_length` below `fft_size` is a Hann window of that length centred in
  the frame (librosa's `pad_center`).
  """
  padded = np.pad(y, n_fft // 2, mode="reflect")
  count = 1 + (len(padded) - n_fft) // hop
  index = np.arange(n_fft)[None, :] + hop * np.arange(count)[:, None]
  win = win or n_fft
  window = np.zeros(n_fft)
  start = (n_fft - win) // 2
  window[start:start + win] = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(win) / win)
  magnitude = np.abs(np.fft.rfft(padded[index] * window, axis=-1))     # [frames, bins]
  basis = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
  return np.log10(np.maximum(basis @ magnitude.T, 1e-10)).T


def _max_error(got, expected):
  assert got.shape == expected.shape
  return float(np.max(np.abs(got - expected)) / np.max(np.abs(expected)))


def _linear(values, cfg):
  return tfspecinv.unscale_amplitude(tf.constant(values, tf.float64), cfg).numpy()


def test_preset_fields_and_entry_points():
  cfg = conventions.make("tensorflowtts")
  assert (cfg.sample_rate, cfg.n_fft, cfg.hop_length, cfg.win_length, cfg.n_mels, cfg.fmin,
          cfg.fmax, cfg.layout) == (22050, 1024, 256, 1024, 80, 80.0, 7600.0, "frames_bins")
  assert SpectrogramConfig.tensorflowtts(n_mels=64).n_mels == 64
  assert "tensorflowtts" in conventions.NAMES


@pytest.mark.parametrize("overrides", [dict(), dict(sample_rate=24000, hop_length=300,
                                                    n_fft=2048, win_length=1200, fmax=12000.0)],
                         ids=["ljspeech", "24k_hop300_win1200"])
def test_forward_matches_reference(speech, overrides):
  y, sr = speech
  cfg = conventions.make("tensorflowtts", **overrides)
  kwargs = dict(sr=cfg.sample_rate, n_fft=cfg.n_fft, hop=cfg.hop_length, fmax=cfg.fmax,
                win=cfg.win_length)
  expected = tensorflowtts_reference(y, **kwargs)
  assert expected.shape == (cfg.num_frames(len(y)), 80)
  got64 = transforms.forward(tf.constant(y, tf.float64), cfg).numpy()
  assert _max_error(got64, expected) <= 1e-7
  # float32: compared before the log (weak bins, as for the other presets).
  got32 = transforms.forward(tf.constant(y, tf.float32), cfg).numpy()
  assert _max_error(_linear(got32, cfg), _linear(expected, cfg)) <= 1e-5


def test_forward_float32_matches_reference_on_piano(piano):
  y, sr = piano
  y = librosa.resample(y, orig_sr=sr, target_sr=22050)
  cfg = conventions.make("tensorflowtts")
  expected = tensorflowtts_reference(y)
  got = transforms.forward(tf.constant(y, tf.float32), cfg).numpy()
  assert _max_error(got, expected) <= 1e-5


def test_reconstruct_reaches_minus_35_db(speech):
  y, _ = speech
  y = y[:22050 * 3 // 2]
  cfg = conventions.make("tensorflowtts")
  target = tensorflowtts_reference(y)
  waveform, result = tfspecinv.reconstruct(target, cfg, length=len(y), lbfgs_iters=200)
  assert waveform.shape == (len(y),)
  assert float(result.spectral_convergence_db) <= -35.0, result
  estimate = _linear(transforms.forward(tf.constant(waveform, tf.float64), cfg).numpy(), cfg)
  reference = _linear(target, cfg)
  sc = 20 * np.log10(np.linalg.norm(estimate - reference) / np.linalg.norm(reference))
  assert sc <= -35.0


def _stats(y):
  """scikit-learn StandardScaler.partial_fit on the raw mels: mean_, scale_ (ddof 0)."""
  raw = tensorflowtts_reference(y)
  return raw.mean(0), raw.std(0)


@pytest.mark.parametrize("dtype, tolerance", [(tf.float64, 1e-7), (tf.float32, 1e-5)])
def test_standardised_features_match_reference(speech, dtype, tolerance):
  # norm-feats: scaler.transform(mel) = (mel - mean_) / scale_, per mel band.
  y, _ = speech
  mean, scale = _stats(y)
  cfg = conventions.make("tensorflowtts", feature_mean=tuple(mean), feature_scale=tuple(scale))
  expected = (tensorflowtts_reference(y) - mean) / scale
  got = transforms.forward(tf.constant(y, dtype), cfg).numpy()
  if dtype == tf.float64:
    assert _max_error(got, expected) <= tolerance
  else:  # Before the log and the standardisation, as for the raw features.
    undo = lambda f: np.power(10.0, f.astype(np.float64) * scale + mean)
    assert _max_error(undo(got), undo(expected)) <= tolerance


def test_reconstruct_standardised_features(speech):
  y, _ = speech
  mean, scale = _stats(y)
  y = y[:22050]
  cfg = conventions.make("tensorflowtts", feature_mean=tuple(mean), feature_scale=tuple(scale))
  target = (tensorflowtts_reference(y) - mean) / scale
  waveform, result = tfspecinv.reconstruct(target, cfg, length=len(y), lbfgs_iters=200)
  estimate = (tensorflowtts_reference(np.asarray(waveform, np.float64)) - mean) / scale
  undo = lambda f: np.power(10.0, f * scale + mean)
  sc = 20 * np.log10(np.linalg.norm(undo(estimate) - undo(target)) / np.linalg.norm(undo(target)))
  assert sc <= -35.0, (sc, result.spectral_convergence_db)

"""Shared fixtures for the tfspecinv numeric tests.

Real audio excerpts are read with soundfile as float64; every reference is
computed independently in float64 (librosa, NumPy, SciPy, tf.signal).
"""

import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The suite runs as users do by default: without the opt-in XLA compilation
# cache (tfspecinv.xla_cache); tests/test_xla_cache.py turns it on apart.
os.environ["TFSPECINV_XLA_CACHE"] = ""

import numpy as np
import pytest
import soundfile as sf

SAMPLES = pathlib.Path(__file__).resolve().parent.parent / "samples"
SPEECH_PATH = SAMPLES / "speech_female_ljspeech.wav"
PIANO_PATH = SAMPLES / "music_piano.wav"

# 2 s of speech (22050 Hz) from 0.5 s on; 1.5 s of piano (44100 Hz) from 0.25 s on.
SPEECH_START, SPEECH_SECONDS = 0.5, 2.0
PIANO_START, PIANO_SECONDS = 0.25, 1.5


def relative_error(a, b):
  """`max|a - b| / max|b|` in float64 (complex inputs allowed)."""
  a = np.asarray(a)
  b = np.asarray(b)
  assert a.shape == b.shape, f"shape mismatch: {a.shape} vs {b.shape}"
  a = a.astype(np.complex128 if np.iscomplexobj(a) else np.float64)
  b = b.astype(np.complex128 if np.iscomplexobj(b) else np.float64)
  scale = np.max(np.abs(b))
  assert scale > 0, "reference is all zeros"
  return float(np.max(np.abs(a - b)) / scale)


def _read(path, start_s, seconds):
  audio, rate = sf.read(str(path), dtype="float64", always_2d=False)
  assert audio.ndim == 1
  start = int(start_s * rate)
  return audio[start:start + int(seconds * rate)].copy(), rate


@pytest.fixture(scope="session")
def speech():
  """(samples float64 [n], 22050): a 2 s speech excerpt."""
  return _read(SPEECH_PATH, SPEECH_START, SPEECH_SECONDS)


@pytest.fixture(scope="session")
def piano():
  """(samples float64 [n], 44100): a 1.5 s piano excerpt."""
  return _read(PIANO_PATH, PIANO_START, PIANO_SECONDS)


def make_batch(audio, batch_shape, length, step=None):
  """Stack distinct excerpts of `audio` into `[*batch_shape, length]` (float64).

  Example i of the flattened batch starts at `i * step` samples, so every
  example is different real audio.
  """
  count = int(np.prod(batch_shape, dtype=np.int64)) if batch_shape else 1
  if step is None:
    step = (len(audio) - length) // max(count, 1)
  assert (count - 1) * step + length <= len(audio), "audio too short for this batch"
  rows = [audio[i * step:i * step + length] for i in range(count)]
  return np.stack(rows).reshape(tuple(batch_shape) + (length,))


@pytest.fixture(scope="session")
def rel_err():
  """The relative-error helper `max|a-b| / max|b|`."""
  return relative_error


@pytest.fixture(scope="session")
def batch_of():
  """`batch_of(audio, batch_shape, length, step=None)`: see `make_batch`."""
  return make_batch


def plain_stft(x, config):
  """The STFT of `[batch, samples]` from plain TensorFlow ops, independent of tfspecinv.

  Padding is `np.pad(x, config.padding, mode=config.pad_mode)` (NumPy's modes
  have the config's names), written as the float64 matrix it applies, so
  that TensorFlow differentiates it; frames span `frame_span` samples, the
  periodic window (`scipy.signal.get_window(fftbins=True)`) sits at
  `window_offset` and `tf.signal.rfft` pads each to `n_fft`. Returns the
  stored frames, complex `[batch, frames, n_fft // 2 + 1]`.
  """
  import scipy.signal  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  length, pad = x.shape[-1], config.padding
  padding = np.pad(np.eye(length), ((0, 0), (pad, pad)), mode=config.pad_mode)
  padded = tf.matmul(x, tf.constant(padding, x.dtype))
  window = np.zeros(config.frame_span)
  window[config.window_offset:config.window_offset + config.win_length] = (
      scipy.signal.get_window(config.window if config.window != "ones" else "boxcar",
                              config.win_length, fftbins=True))
  frames = tf.signal.frame(padded, config.frame_span, config.hop_length)
  frames = frames[:, :config.num_frames(length)] * tf.constant(window, x.dtype)
  return tf.signal.rfft(frames, fft_length=[config.n_fft])


@pytest.fixture(scope="session")
def reference_stft():
  """`plain_stft(x, config)`: the STFT from plain ops, for TensorFlow's own gradient."""
  return plain_stft

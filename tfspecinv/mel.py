"""Mel filterbanks (librosa Slaney/HTK, torchaudio, tf.signal) and mel-to-linear estimates.

Filterbanks are built once in NumPy float64 and used as constants. All matrices
here are `[n_mels, n_bins]` (librosa's orientation): `mel = M @ S` for a
spectrogram `S` of shape `[..., n_bins, frames]`.
"""

import functools

import numpy as np
import tensorflow as tf

from tfspecinv import layout
from tfspecinv.errors import SpecInvError

__all__ = [
    "hz_to_mel", "mel_to_hz", "mel_filterbank", "empty_filters", "mel_to_linear_pinv",
    "mel_to_linear_nnls",
]

_SLANEY_F_SP = 200.0 / 3
_SLANEY_MIN_LOG_HZ = 1000.0
_SLANEY_MIN_LOG_MEL = _SLANEY_MIN_LOG_HZ / _SLANEY_F_SP
_SLANEY_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(hz, mel_scale="slaney"):
  """Frequencies in Hz to mels (float64 NumPy).

  Args:
    hz: Array-like of frequencies in Hz.
    mel_scale: 'slaney' (linear below 1 kHz, log above, as librosa) or 'htk'
      (`2595 * log10(1 + f / 700)`).

  Returns:
    float64 array of mels, same shape as `hz`.
  """
  hz = np.asarray(hz, dtype=np.float64)
  if mel_scale == "htk":
    return 2595.0 * np.log10(1.0 + hz / 700.0)
  mels = hz / _SLANEY_F_SP
  log_part = _SLANEY_MIN_LOG_MEL + np.log(np.maximum(hz, _SLANEY_MIN_LOG_HZ) /
                                          _SLANEY_MIN_LOG_HZ) / _SLANEY_LOGSTEP
  return np.where(hz >= _SLANEY_MIN_LOG_HZ, log_part, mels)


def mel_to_hz(mels, mel_scale="slaney"):
  """Inverse of `hz_to_mel` (float64 NumPy)."""
  mels = np.asarray(mels, dtype=np.float64)
  if mel_scale == "htk":
    return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
  freqs = _SLANEY_F_SP * mels
  log_part = _SLANEY_MIN_LOG_HZ * np.exp(_SLANEY_LOGSTEP * (mels - _SLANEY_MIN_LOG_MEL))
  return np.where(mels >= _SLANEY_MIN_LOG_MEL, log_part, freqs)


def _triangles(grid, edges):
  """Triangles with corners `edges[i], edges[i+1], edges[i+2]` sampled on `grid`.

  Returns `[len(edges) - 2, len(grid)]` weights in [0, 1].
  """
  widths = np.diff(edges)
  ramps = edges[:, None] - grid[None, :]
  lower = -ramps[:-2] / widths[:-1, None]
  upper = ramps[2:] / widths[1:, None]
  return np.maximum(0.0, np.minimum(lower, upper))


def _tf_signal_filterbank(config):
  """`tf.signal.linear_to_mel_weight_matrix`, transposed: linear in mel, DC zeroed."""
  to_mel = lambda f: 1127.0 * np.log1p(np.asarray(f, np.float64) / 700.0)
  grid = to_mel(np.linspace(0.0, config.sample_rate / 2.0, config.n_bins))
  edges = np.linspace(to_mel(config.fmin), to_mel(config.fmax), config.n_mels + 2)
  weights = _triangles(grid, edges)
  weights[:, 0] = 0.0
  return weights


@functools.lru_cache(maxsize=64)
def _cached_filterbank(config):
  if config.mel_variant == "tf_signal":
    weights = _tf_signal_filterbank(config)
  else:
    if config.mel_variant == "torchaudio":
      grid = np.linspace(0.0, float(config.sample_rate // 2), config.n_bins)
    else:
      grid = np.fft.rfftfreq(config.n_fft, 1.0 / config.sample_rate)
    edges_mel = np.linspace(hz_to_mel(config.fmin, config.mel_scale),
                            hz_to_mel(config.fmax, config.mel_scale), config.n_mels + 2)
    edges = mel_to_hz(edges_mel, config.mel_scale)
    weights = _triangles(grid, edges)
    if config.mel_norm == "slaney":
      weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
  weights.setflags(write=False)
  return weights


def mel_filterbank(config):
  """The mel filterbank the config describes, as float64 NumPy `[n_mels, n_bins]`.

  Equal to `librosa.filters.mel(sr=, n_fft=, n_mels=, fmin=, fmax=, htk=, norm=)`
  for `mel_variant='librosa'`, to torchaudio's `melscale_fbanks(...).T` for
  'torchaudio' and to `tf.signal.linear_to_mel_weight_matrix(...).T` for
  'tf_signal'.

  Args:
    config: A `SpectrogramConfig`.

  Returns:
    Read-only float64 array `[n_mels, n_bins]`.
  """
  return _cached_filterbank(config)


def empty_filters(config):
  """Indices of mel filters that cover no FFT bin (all-zero rows)."""
  return [int(i) for i in np.flatnonzero(mel_filterbank(config).max(axis=1) <= 0)]


def _mel_frames_bins(mel, config):
  """Checked `[..., frames, n_mels]` view of a mel spectrogram in `config.layout`."""
  mel = layout.to_frames_bins(tf.convert_to_tensor(mel), config, "mel spectrogram")
  n_mels = mel.shape[-1]
  if n_mels is not None and n_mels != config.n_mels:
    raise SpecInvError(
        f"the mel spectrogram has {n_mels} mel bands but config.n_mels={config.n_mels}; "
        f"set n_mels={n_mels} or check the layout (bins_frames vs frames_bins).")
  return mel


def mel_to_linear_pinv(mel, config, name=None):
  """Least-squares linear spectrogram from a mel one: `max(0, pinv(M) @ mel)`.

  Args:
    mel: float Tensor `[..., n_mels, frames]` (or frames_bins layout) in the
      linear (not log) domain, with the config's power.
    config: A `SpectrogramConfig`.
    name: Optional name scope.

  Returns:
    Tensor `[..., n_bins, frames]` in `config.layout`, non-negative, same dtype.
  """
  with tf.name_scope(name or "mel_to_linear_pinv"):
    mel = _mel_frames_bins(mel, config)
    return layout.from_frames_bins(_pinv_frames_bins(mel, config), config)


def _pinv_frames_bins(mel, config):
  pinv = tf.constant(np.linalg.pinv(mel_filterbank(config)).T, dtype=mel.dtype)
  return tf.nn.relu(tf.linalg.matmul(mel, pinv))


def mel_to_linear_nnls(mel, config, iterations=100, name=None):
  """Non-negative least squares `argmin_{S >= 0} ||M S - mel||^2`, batched.

  Accelerated projected gradient (FISTA) with step `1 / ||M||_2^2`, started
  from the pseudo-inverse estimate; the whole loop is one `tf.while_loop`.
  This is the estimate librosa's `mel_to_stft` computes with SciPy's L-BFGS-B.

  Args:
    mel: float Tensor `[..., n_mels, frames]` (or frames_bins layout), linear
      domain, non-negative.
    config: A `SpectrogramConfig`.
    iterations: Number of projected-gradient steps (Python int or scalar Tensor).
    name: Optional name scope.

  Returns:
    Tensor `[..., n_bins, frames]` in `config.layout`, non-negative, same dtype.
  """
  with tf.name_scope(name or "mel_to_linear_nnls"):
    mel = _mel_frames_bins(mel, config)
    return layout.from_frames_bins(nnls_frames_bins(mel, config, iterations), config)


def nnls_frames_bins(mel, config, iterations):
  """`mel_to_linear_nnls` on `[..., frames, n_mels]`, returning `[..., frames, n_bins]`."""
  weights = mel_filterbank(config)
  lipschitz = np.linalg.norm(weights, ord=2) ** 2
  gram = tf.constant(weights.T @ weights / lipschitz, dtype=mel.dtype)
  rhs = tf.linalg.matmul(mel, tf.constant(weights / lipschitz, dtype=mel.dtype))
  start = _pinv_frames_bins(mel, config)

  def step(i, current, previous, momentum):
    next_momentum = (1.0 + tf.sqrt(1.0 + 4.0 * momentum * momentum)) / 2.0
    extrapolated = current + ((momentum - 1.0) / next_momentum) * (current - previous)
    gradient = tf.linalg.matmul(extrapolated, gram) - rhs
    return i + 1, tf.nn.relu(extrapolated - gradient), current, next_momentum

  one = tf.ones([], mel.dtype)
  _, result, _, _ = tf.while_loop(
      lambda i, *_: i < iterations, step, (tf.constant(0), start, start, one))
  return result

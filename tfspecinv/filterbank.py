"""Mel filterbanks in NumPy: librosa (Slaney/HTK), torchaudio and tf.signal.

Free of TensorFlow, so configs validate (and the command line rejects bad
settings) without importing it; `tfspecinv.mel` re-exports these names.
"""

import numpy as np

from tfspecinv import cache

__all__ = ["hz_to_mel", "mel_to_hz", "mel_filterbank", "empty_filters"]

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


def _filterbank_key(config):
  # The mel fields only: `SpectrogramConfig` asks for its filterbank while it validates
  # itself, before later fields (amin, ...) are final, so its hash would change after.
  return cache.key(None, None, None, sample_rate=config.sample_rate, n_fft=config.n_fft,
                   n_mels=config.n_mels, fmin=config.fmin, fmax=config.fmax,
                   mel_scale=config.mel_scale, mel_norm=config.mel_norm,
                   mel_variant=config.mel_variant)


@cache.cached(make_key=_filterbank_key)
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

  Example:
    >>> mel_filterbank(SpectrogramConfig.librosa(n_fft=1024, n_mels=80)).shape
    (80, 513)
  """
  return _cached_filterbank(config)


def empty_filters(config):
  """Indices of mel filters that cover no FFT bin (all-zero rows)."""
  return [int(i) for i in np.flatnonzero(mel_filterbank(config).max(axis=1) <= 0)]

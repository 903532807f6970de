"""MFCC: DCT of a log-scaled mel spectrogram, as librosa, torchaudio and tf.signal define it.

librosa: `mfcc = dct(power_to_db(mel), type=2, norm='ortho')[:n_mfcc]`, then
`lifter`. tf.signal: `mfccs_from_log_mel_spectrograms(log(mel + 1e-6))` is an
unnormalised DCT-II divided by `sqrt(2 * n_mels)` (`dct_norm='tf_signal'`).
"""

import numpy as np
import tensorflow as tf

from tfspecinv import cache
from tfspecinv import layout

__all__ = ["dct_matrix", "lifter_weights", "mfcc_from_scaled_mel", "mfcc_frames_bins"]


@cache.cached()
def _cached_dct(n_mfcc, n_mels, dct_type, dct_norm):
  n = np.arange(n_mels)[None, :]
  k = np.arange(n_mels)[:, None]
  if dct_type == 2:
    basis = 2.0 * np.cos(np.pi * k * (2 * n + 1) / (2.0 * n_mels))
    if dct_norm == "ortho":
      basis[0] *= np.sqrt(1.0 / (4 * n_mels))
      basis[1:] *= np.sqrt(1.0 / (2 * n_mels))
  else:
    basis = 2.0 * np.cos(np.pi * n * (2 * k + 1) / (2.0 * n_mels))
    basis[:, 0] = 1.0
    if dct_norm == "ortho":
      basis[:, 0] /= np.sqrt(n_mels)
      basis[:, 1:] /= np.sqrt(2.0 * n_mels)
  if dct_norm == "tf_signal":
    basis /= np.sqrt(2.0 * n_mels)
  basis = basis[:n_mfcc].copy()
  basis.setflags(write=False)
  return basis


def dct_matrix(config):
  """DCT matrix `[n_mfcc, n_mels]` (float64 NumPy) so that `mfcc = D @ log_mel`."""
  return _cached_dct(config.n_mfcc, config.n_mels, config.dct_type, config.dct_norm)


def lifter_weights(config):
  """librosa's lifter `1 + (L / 2) sin(pi (k + 1) / L)`, ones if `lifter == 0`."""
  k = np.arange(config.n_mfcc, dtype=np.float64)
  if config.lifter == 0:
    return np.ones_like(k)
  return 1.0 + (config.lifter / 2.0) * np.sin(np.pi * (k + 1) / config.lifter)


def mfcc_from_scaled_mel(scaled_mel, config, name=None):
  """MFCCs from a mel spectrogram already in `config.scale` (dB or log).

  Args:
    scaled_mel: float Tensor `[..., n_mels, frames]` (or `[..., frames, n_mels]`
      with `layout='frames_bins'`).
    config: A `SpectrogramConfig`.
    name: Optional name scope.

  Returns:
    Tensor `[..., n_mfcc, frames]` in `config.layout`, same dtype.

  Example:
    >>> cfg = SpectrogramConfig.librosa(n_mfcc=20, representation="mfcc", scale="db")
    >>> db_mel = scale_amplitude(mel, cfg)                      # [128, F] power -> dB
    >>> mfcc_from_scaled_mel(db_mel, cfg).shape                 # as librosa.feature.mfcc
    TensorShape([20, F])
  """
  with tf.name_scope(name or "mfcc"):
    x = layout.to_frames_bins(tf.convert_to_tensor(scaled_mel), config, "mel spectrogram")
    return layout.from_frames_bins(mfcc_frames_bins(x, config), config)


def mfcc_frames_bins(x, config):
  """The (liftered) DCT along the last axis, no checks: `[..., frames, n_mels]` -> `[..., frames, n_mfcc]`.

  Args:
    x: float Tensor `[..., frames, n_mels]`, scaled (e.g. dB) mel values.
    config: A `SpectrogramConfig` with `n_mfcc`.

  Returns:
    Tensor `[..., frames, n_mfcc]`, same dtype.
  """
  weights = dct_matrix(config).T * lifter_weights(config)[None, :]
  return tf.linalg.matmul(x, tf.constant(weights, dtype=x.dtype))

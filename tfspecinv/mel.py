"""Mel filterbanks (librosa Slaney/HTK, torchaudio, tf.signal) and mel-to-linear estimates.

Filterbanks are built once in NumPy float64 and used as constants. All matrices
here are `[n_mels, n_bins]` (librosa's orientation): `mel = M @ S` for a
spectrogram `S` of shape `[..., n_bins, frames]`.
"""

import numpy as np
import tensorflow as tf

from tfspecinv import layout
from tfspecinv.errors import SpecInvError
from tfspecinv.filterbank import empty_filters, hz_to_mel, mel_filterbank, mel_to_hz

__all__ = [
    "hz_to_mel", "mel_to_hz", "mel_filterbank", "empty_filters", "mel_to_linear_pinv",
    "mel_to_linear_nnls", "undetermined_bin_weights",
]

def _checked_mel(mel, config):
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

  Example:
    >>> cfg = SpectrogramConfig.librosa(n_fft=1024, n_mels=80, representation="mel")
    >>> linear = mel_to_linear_pinv(mel, cfg)                   # mel [80, F] -> [513, F]
  """
  with tf.name_scope(name or "mel_to_linear_pinv"):
    mel = _checked_mel(mel, config)
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

  Example:
    >>> cfg = SpectrogramConfig.librosa(n_fft=1024, n_mels=80, representation="mel")
    >>> linear = mel_to_linear_nnls(mel, cfg, iterations=200)   # mel [80, F] -> [513, F]
  """
  with tf.name_scope(name or "mel_to_linear_nnls"):
    mel = _checked_mel(mel, config)
    return layout.from_frames_bins(nnls_frames_bins(mel, config, iterations), config)


def nnls_frames_bins(mel, config, iterations):
  """`mel_to_linear_nnls` on `[..., frames, n_mels]`, returning `[..., frames, n_bins]`."""
  weights = mel_filterbank(config)
  lipschitz = np.linalg.norm(weights, ord=2) ** 2
  scaled = tf.constant(weights / lipschitz, dtype=mel.dtype)
  rhs = tf.linalg.matmul(mel, scaled)
  start = _pinv_frames_bins(mel, config)
  if 2 * weights.shape[0] < weights.shape[1]:
    # Few mels for many bins (Riffusion: 512 for 8821): `(x M^T) M` costs
    # 2 n_mels n_bins per frame where the Gram matrix `M^T M` costs n_bins^2.
    transposed = tf.constant(weights.T, dtype=mel.dtype)
    gram_times = lambda x: tf.linalg.matmul(tf.linalg.matmul(x, transposed), scaled)
  else:
    gram = tf.constant(weights.T @ weights / lipschitz, dtype=mel.dtype)
    gram_times = lambda x: tf.linalg.matmul(x, gram)

  def step(i, current, previous, momentum):
    next_momentum = (1.0 + tf.sqrt(1.0 + 4.0 * momentum * momentum)) / 2.0
    extrapolated = current + ((momentum - 1.0) / next_momentum) * (current - previous)
    gradient = gram_times(extrapolated) - rhs
    return i + 1, tf.nn.relu(extrapolated - gradient), current, next_momentum

  one = tf.ones([], mel.dtype)
  _, result, _, _ = tf.while_loop(
      lambda i, *_: i < iterations, step, (tf.constant(0), start, start, one))
  return result


def undetermined_bin_weights(config):
  """Per-bin weights of the STFT bins below the lowest mel band, which it barely determines.

  A mel band sees the bins under its triangle. Below the peak of the lowest
  band, a bin is seen only by that band's rising edge (or by nothing, below
  `fmin` and at DC): its energy is almost free in a mel fit, and a
  waveform optimiser puts energy there (on speech as TensorFlowTTS mels,
  fmin 80 Hz: 65-86 Hz came out 8-14 dB too loud). The weight is
  `h * (1 - min(1, c_k / c_p))` for bin `k` below the peak bin `p` of the
  lowest non-empty band, where `c_k` is bin k's column sum of the
  filterbank (its coverage by all bands) and `h` the lowest band's peak
  weight, so that a bin no band sees weighs like a band; 0 from `p` on.
  `optimize.WaveformProblem` penalises `sum((weight * |X|^power)^2)`
  (relative to the target's energy) so that the fit leaves those bins
  near silent unless the bands need them. With `fmin <= 0` the lowest band
  reaches down to DC and the bins under its rising edge carry real energy
  (rumble) that the band weighs: all zeros (measured with the term on
  Coqui's fmin 0: a corpus clip's mel fit fell from -37.5 to -28.4 dB).

  Args:
    config: A `SpectrogramConfig` with representation 'mel' or 'mfcc'.

  Returns:
    float64 NumPy array `[n_bins]`, non-negative; all zeros when
    `config.fmin <= 0` or no band has weight.
  """
  weights = mel_filterbank(config)
  rows = np.flatnonzero(weights.max(axis=1) > 0)
  result = np.zeros(weights.shape[1])
  if config.fmin <= 0 or not rows.size:
    return result
  lowest = weights[rows[0]]
  peak = int(np.argmax(lowest))
  coverage = weights.sum(axis=0)
  result[:peak] = lowest[peak] * (1.0 - np.minimum(1.0, coverage[:peak] / coverage[peak]))
  return result

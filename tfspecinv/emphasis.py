"""Pre-emphasis `y[n] = x[n] - a x[n-1]` and its inverse, the de-emphasis filter `1 / (1 - a z^-1)`.

TTS toolkits (Coqui TTS, keithito tacotron, Real-Time-Voice-Cloning) filter
the waveform with `scipy.signal.lfilter([1, -a], [1], x)` before the STFT and
undo it after Griffin-Lim with `lfilter([1], [1, -a], y)`. Both start from
rest (`x[-1] = y[-1] = 0`), so `deemphasize(preemphasize(x)) == x`.

`reconstruct` inverts the emphasised signal (the STFT of which the
spectrogram describes) and de-emphasises the result; `DeemphasisStream` does
the same to the consecutive chunks of block mode.

The recursion runs without a per-sample loop: the signal is cut into blocks
of `BLOCK` samples, each filtered by one matrix product (the truncated
impulse response is exact within a block), and the state carried between
blocks is a first-order linear recurrence solved by a log-depth prefix scan.

>>> y = preemphasize(tf.constant([[1.0, 1.0, 1.0]]), 0.5)      # [[1.0, 0.5, 0.5]]
>>> deemphasize(y, 0.5)                                           # [[1.0, 1.0, 1.0]]
"""

import numpy as np
import tensorflow as tf

__all__ = ["preemphasize", "deemphasize", "DeemphasisStream", "highpass", "BLOCK"]

BLOCK = 256


def preemphasize(signal, coefficient, name=None):
  """`y[n] = x[n] - coefficient * x[n - 1]` along the last axis, with `x[-1] = 0`.

  Args:
    signal: float Tensor `[..., samples]`.
    coefficient: Python float, `0 <= coefficient < 1` (0 returns the signal).
    name: Optional name scope.

  Returns:
    Tensor of the same shape and dtype (scipy `lfilter([1, -a], [1], x)`).
  """
  with tf.name_scope(name or "preemphasize"):
    x = tf.convert_to_tensor(signal)
    if not coefficient:
      return x
    previous = tf.concat([tf.zeros_like(x[..., :1]), x[..., :-1]], axis=-1)
    return x - tf.constant(coefficient, x.dtype) * previous


def deemphasize(signal, coefficient, name=None):
  """`y[n] = x[n] + coefficient * y[n - 1]` along the last axis, with `y[-1] = 0`.

  The inverse of `preemphasize` (scipy `lfilter([1], [1, -a], x)`), as graph
  ops: one `[BLOCK, BLOCK]` matrix product per block of samples and a
  log-depth scan for the state carried between blocks.

  Args:
    signal: float Tensor `[..., samples]`.
    coefficient: Python float, `0 <= coefficient < 1` (0 returns the signal).
    name: Optional name scope.

  Returns:
    Tensor of the same shape and dtype.

  Example:
    >>> deemphasize(tf.constant([1.0, 0.0, 0.0]), 0.5).numpy()
    array([1.  , 0.5 , 0.25], dtype=float32)
  """
  with tf.name_scope(name or "deemphasize"):
    x = tf.convert_to_tensor(signal)
    if not coefficient:
      return x
    dtype = x.dtype
    shape = tf.shape(x)
    samples = shape[-1]
    flat = tf.reshape(x, [-1, samples])
    blocks = (samples + BLOCK - 1) // BLOCK
    flat = tf.pad(flat, [[0, 0], [0, blocks * BLOCK - samples]])
    chunks = tf.reshape(flat, [tf.shape(flat)[0], blocks, BLOCK])  # [batch, blocks, BLOCK]
    lag = np.arange(BLOCK)[:, None] - np.arange(BLOCK)[None, :]
    response = np.where(lag >= 0, float(coefficient) ** np.maximum(lag, 0), 0.0)
    local = tf.linalg.matmul(chunks, tf.constant(response.T, dtype))  # Each block from rest.
    # Final state of each block: c[b] = local[b, -1] + a^BLOCK c[b - 1] (prefix scan).
    carry = _linear_prefix_scan(local[:, :, -1], float(coefficient) ** BLOCK, blocks)
    before = tf.pad(carry[:, :-1], [[0, 0], [1, 0]])  # State entering each block.
    decay = tf.constant(float(coefficient) ** np.arange(1, BLOCK + 1), dtype)
    out = local + before[:, :, tf.newaxis] * decay
    out = tf.reshape(out, [tf.shape(flat)[0], -1])[:, :samples]
    return tf.reshape(out, shape)


def highpass(signal, cutoff, sample_rate, name=None):
  """Zero-phase high-pass along the last axis: gain `1 / (1 + (cutoff / f)^4)` at frequency f.

  The magnitude response of a second-order Butterworth high-pass applied
  forward and backward (scipy `sosfiltfilt(butter(2, cutoff, 'highpass'))`),
  as one FFT product over the zero-padded signal (no phase shift, no
  wrap-around within the signal).

  Args:
    signal: float Tensor `[..., samples]`.
    cutoff: Cutoff in Hz (-6 dB), a Python float > 0.
    sample_rate: Sampling rate in Hz.
    name: Optional name scope.

  Returns:
    Tensor of the same shape and dtype.
  """
  with tf.name_scope(name or "highpass"):
    x = tf.convert_to_tensor(signal)
    samples = tf.shape(x)[-1]
    size = 2 * samples
    spectrum = tf.signal.rfft(x, fft_length=[size])
    frequency = tf.cast(tf.range(size // 2 + 1), x.dtype) * tf.cast(sample_rate, x.dtype) / \
        tf.cast(size, x.dtype)
    ratio = tf.math.divide_no_nan(tf.constant(float(cutoff), x.dtype), frequency)
    gain = tf.where(frequency > 0, 1.0 / (1.0 + ratio ** 4), tf.zeros_like(frequency))
    filtered = tf.signal.irfft(spectrum * tf.complex(gain, tf.zeros_like(gain)),
                               fft_length=[size])
    return filtered[..., :samples]


def _linear_prefix_scan(values, ratio, length):
  """`c[b] = values[b] + ratio * c[b - 1]` along axis 1 (`[batch, length]`), in log depth."""
  dtype = values.dtype
  index = tf.range(length)[tf.newaxis]

  def body(shift, factor, c):
    # `c` shifted right by `shift` with zeros in front (a roll and a mask: no
    # shape depends on `shift`, so XLA compiles the loop too).
    shifted = tf.where(index >= shift, tf.roll(c, shift, axis=1), tf.zeros_like(c))
    return shift * 2, factor * factor, c + factor * shifted

  _, _, result = tf.while_loop(
      lambda shift, factor, c: tf.logical_and(shift < length, factor > 0),
      body, [tf.constant(1), tf.constant(ratio, dtype), values])
  return result


class DeemphasisStream:
  """De-emphasis of consecutive 1-D chunks, the filter state carried between them.

  Args:
    coefficient: The pre-emphasis coefficient, `0 <= coefficient < 1`.
    sink: Callable receiving each de-emphasised chunk (NumPy float32), or
      None to collect them (`waveform()`).

  Example:
    >>> stream = DeemphasisStream(0.97)
    >>> for chunk in chunks: stream(chunk)
    >>> y = stream.waveform()        # == deemphasize(np.concatenate(chunks), 0.97)
  """

  def __init__(self, coefficient, sink=None):
    self.coefficient = float(coefficient)
    self.sink = sink
    self._state = 0.0
    self._collected = [] if sink is None else None

  def __call__(self, chunk):
    chunk = np.asarray(chunk, np.float64)
    if chunk.size:
      out = deemphasize(tf.constant(chunk), self.coefficient).numpy()
      out += self._state * self.coefficient ** np.arange(1, chunk.size + 1)
      self._state = float(out[-1])
    else:
      out = chunk
    out = out.astype(np.float32)
    if self._collected is not None:
      self._collected.append(out)
    else:
      self.sink(out)

  def waveform(self):
    """The collected chunks as one 1-D array (None when a sink was given)."""
    if self._collected is None:
      return None
    return np.concatenate(self._collected) if self._collected else np.zeros([0], np.float32)

"""The hand-written gradients (STFT adjoint, fused power spectrogram) equal autodiff."""

import numpy as np
import pytest
import tensorflow as tf

import tfspecinv
from tfspecinv import transforms

CONFIGS = {
    "centred-zero": dict(n_fft=64, hop_length=16),
    "short-window-reflect": dict(n_fft=64, hop_length=16, win_length=40, pad_mode="reflect"),
    "hamming-edge": dict(n_fft=64, hop_length=16, window="hamming", pad_mode="edge"),
    "blackman-symmetric-padding": dict(n_fft=64, hop_length=16, window="blackman",
                                       pad_mode="symmetric", center=False, padding=24),
    "odd-uncentred": dict(n_fft=63, hop_length=10, center=False),
    "tf-left-window": dict(n_fft=64, hop_length=16, win_length=48, window_align="left",
                           center=False),
}


def _gradients(loss, x):
  with tf.GradientTape() as tape:
    tape.watch(x)
    value = loss(x)
  return value, tape.gradient(value, x)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_stft_adjoint_gradient(name, reference_stft):
  config = tfspecinv.SpectrogramConfig(**CONFIGS[name])
  rng = np.random.RandomState(0)
  x = tf.constant(rng.randn(2, 500))
  weights = tf.constant(rng.randn(*reference_stft(x, config).shape) +
                        1j * rng.randn(*reference_stft(x, config).shape))
  loss = lambda fn: (lambda v: tf.reduce_sum(tf.math.real(fn(v) * weights) ** 2))
  fast_value, fast = _gradients(loss(lambda v: transforms.stft_frames_bins(v, config)), x)
  slow_value, slow = _gradients(loss(lambda v: reference_stft(v, config)), x)
  np.testing.assert_allclose(fast_value, slow_value, rtol=1e-12)
  np.testing.assert_allclose(fast, slow, atol=1e-12 * np.abs(slow).max())


@pytest.mark.parametrize("power", [1.0, 2.0])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_power_spectrogram_gradient(name, power, reference_stft):
  config = tfspecinv.SpectrogramConfig(power=power, **CONFIGS[name])
  rng = np.random.RandomState(1)
  x = tf.constant(rng.randn(2, 500))
  weights = tf.constant(rng.rand(*transforms.power_spectrogram_frames_bins(x, config).shape))

  def slow_fn(v):
    spectrum = reference_stft(v, config)
    squared = tf.math.real(spectrum) ** 2 + tf.math.imag(spectrum) ** 2
    return squared if power == 2 else tf.sqrt(squared)

  fast_value, fast = _gradients(
      lambda v: tf.reduce_sum(transforms.power_spectrogram_frames_bins(v, config) * weights), x)
  slow_value, slow = _gradients(lambda v: tf.reduce_sum(slow_fn(v) * weights), x)
  np.testing.assert_allclose(fast_value, slow_value, rtol=1e-12)
  np.testing.assert_allclose(fast, slow, atol=1e-12 * np.abs(slow).max())

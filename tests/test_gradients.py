"""The hand-written gradients (STFT adjoint, fused power spectrogram) equal autodiff."""

import numpy as np
import pytest
import tensorflow as tf

import tfspecinv
from tfspecinv import transforms

CONFIGS = {
    "centred-zero": dict(n_fft=64, hop_length=16),
    "short-window-reflect": dict(n_fft=64, hop_length=16, win_length=40, pad_mode="reflect"),
    "odd-uncentred": dict(n_fft=63, hop_length=10, center=False),
    "tf-left-window": dict(n_fft=64, hop_length=16, win_length=48, window_align="left",
                           center=False),
}


def _autodiff_stft(x, config):
  """The STFT from plain ops, differentiated by TensorFlow itself."""
  padded = transforms._pad(x, config)
  frames = tf.signal.frame(padded[:, config.window_offset:], config.win_length,
                           config.hop_length)
  num_frames = config.num_frames(x.shape[-1])
  return transforms._frames_to_spectrum(frames[:, :num_frames], config)


def _gradients(loss, x):
  with tf.GradientTape() as tape:
    tape.watch(x)
    value = loss(x)
  return value, tape.gradient(value, x)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_stft_adjoint_gradient(name):
  config = tfspecinv.SpectrogramConfig(**CONFIGS[name])
  rng = np.random.RandomState(0)
  x = tf.constant(rng.randn(2, 500))
  weights = tf.constant(rng.randn(*_autodiff_stft(x, config).shape) +
                        1j * rng.randn(*_autodiff_stft(x, config).shape))
  loss = lambda fn: (lambda v: tf.reduce_sum(tf.math.real(fn(v) * weights) ** 2))
  fast_value, fast = _gradients(loss(lambda v: transforms.stft_frames_bins(v, config)), x)
  slow_value, slow = _gradients(loss(lambda v: _autodiff_stft(v, config)), x)
  np.testing.assert_allclose(fast_value, slow_value, rtol=1e-12)
  np.testing.assert_allclose(fast, slow, atol=1e-12 * np.abs(slow).max())


@pytest.mark.parametrize("power", [1.0, 2.0])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_power_spectrogram_gradient(name, power):
  config = tfspecinv.SpectrogramConfig(power=power, **CONFIGS[name])
  rng = np.random.RandomState(1)
  x = tf.constant(rng.randn(2, 500))
  weights = tf.constant(rng.rand(*transforms.power_spectrogram_frames_bins(x, config).shape))
  slow_fn = lambda v: transforms.magnitude_power(_autodiff_stft(v, config), config)
  fast_value, fast = _gradients(
      lambda v: tf.reduce_sum(transforms.power_spectrogram_frames_bins(v, config) * weights), x)
  slow_value, slow = _gradients(lambda v: tf.reduce_sum(slow_fn(v) * weights), x)
  np.testing.assert_allclose(fast_value, slow_value, rtol=1e-12)
  np.testing.assert_allclose(fast, slow, atol=1e-12 * np.abs(slow).max())

"""Fast Griffin-Lim against librosa's `griffinlim`, which it reproduces step for step."""

import librosa
import numpy as np
import pytest
import tensorflow as tf

import tfspecinv
from tfspecinv import phase


@pytest.fixture(scope="module")
def magnitude(speech):
  return np.abs(librosa.stft(speech[0][:16000], n_fft=512, hop_length=128))


@pytest.mark.parametrize("jit_compile", [False, True], ids=["tf", "xla"])
@pytest.mark.parametrize("momentum", [0.0, 0.99])
def test_matches_librosa_griffinlim_from_zero_phase(magnitude, momentum, jit_compile):
  config = tfspecinv.SpectrogramConfig.librosa(n_fft=512, hop_length=128, power=1.0)
  ours = tfspecinv.griffin_lim(magnitude, config, iterations=20, momentum=momentum,
                               init="zeros", length=16000, jit_compile=jit_compile).numpy()
  reference = librosa.griffinlim(magnitude, n_iter=20, hop_length=128, n_fft=512,
                                 momentum=momentum, init=None, length=16000)
  np.testing.assert_allclose(ours, reference, atol=1e-9 * np.abs(reference).max())


def test_reflect_padding_path_matches_librosa(magnitude):
  config = tfspecinv.SpectrogramConfig.librosa(n_fft=512, hop_length=128, power=1.0,
                                               pad_mode="reflect")
  ours = tfspecinv.griffin_lim(magnitude, config, iterations=10, init="zeros").numpy()
  reference = librosa.griffinlim(magnitude, n_iter=10, hop_length=128, n_fft=512, init=None,
                                 pad_mode="reflect")
  np.testing.assert_allclose(ours, reference, atol=1e-9 * np.abs(reference).max())


def test_more_iterations_reduce_inconsistency(magnitude):
  config = tfspecinv.SpectrogramConfig.librosa(n_fft=512, hop_length=128, power=1.0)
  errors = []
  for iterations in (5, 50):
    y = tfspecinv.griffin_lim(magnitude.astype(np.float32), config, iterations=iterations)
    rebuilt = np.abs(librosa.stft(y.numpy(), n_fft=512, hop_length=128))
    errors.append(np.linalg.norm(rebuilt - magnitude) / np.linalg.norm(magnitude))
  assert errors[1] < 0.5 * errors[0]


@pytest.mark.parametrize("batch_shape", [(), (3,), (2, 2)])
def test_batches_are_independent(magnitude, batch_shape):
  config = tfspecinv.SpectrogramConfig.librosa(n_fft=512, hop_length=128, power=1.0)
  mag = magnitude.astype(np.float32)
  single = tfspecinv.griffin_lim(mag, config, iterations=8).numpy()
  batch = tfspecinv.griffin_lim(np.broadcast_to(mag, batch_shape + mag.shape), config,
                                iterations=8).numpy()
  assert batch.shape == batch_shape + single.shape
  np.testing.assert_allclose(batch.reshape((-1,) + single.shape)[-1], single, atol=1e-5)


def test_runner_does_not_retrace():
  config = tfspecinv.SpectrogramConfig.librosa(n_fft=256, hop_length=64, power=1.0)
  runner = phase.GriffinLim(config)
  for frames in (20, 31):
    mag = tf.ones([2, frames, config.n_bins])
    state = runner.run(mag, runner.start(mag), 3)
  assert runner.trace_count == 1


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
@pytest.mark.parametrize("convention", ["librosa", "tf_signal"])
@pytest.mark.parametrize("frames", [7, 33, 61])
def test_xla_loop_equals_tf_loop(convention, dtype, frames):
  """The XLA loop pads frames to a bucket with zero magnitude; the real frames must not change."""
  config = getattr(tfspecinv.SpectrogramConfig, convention)(n_fft=256, hop_length=64,
                                                            representation="stft")
  magnitude = tf.constant(np.random.default_rng(frames).random((2, frames, config.n_bins)),
                          dtype)
  xla, plain = phase.GriffinLim(config, jit_compile=True), phase.GriffinLim(config)
  assert xla.jit_compile
  ours = xla.run(magnitude, xla.start(magnitude, seed=3), 12)
  reference = plain.run(magnitude, plain.start(magnitude, seed=3), 12)
  tolerance = 1e-12 if dtype == tf.float64 else 1e-5
  for a, b in zip(ours, reference):
    assert a.shape == b.shape
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=tolerance * np.abs(b.numpy()).max())


def test_xla_is_not_used_with_reflect_padding():
  config = tfspecinv.SpectrogramConfig.torchaudio(n_fft=256, hop_length=64, power=1.0)
  assert not phase.GriffinLim(config, jit_compile=True).jit_compile


def test_xla_runner_does_not_retrace_and_buckets_frames():
  config = tfspecinv.SpectrogramConfig.librosa(n_fft=256, hop_length=64, power=1.0)
  runner = phase.GriffinLim(config, jit_compile=True)
  for frames in (20, 31, 300):
    mag = tf.ones([2, frames, config.n_bins])
    state = runner.run(mag, runner.start(mag), 3)
    assert state.angles.shape == mag.shape
  assert runner.trace_count == 1
  buckets = {f: int(phase.bucket_frames(tf.constant(f))) for f in range(1, 5000)}
  assert all(0 <= b - f < max(8, f / 8) for f, b in buckets.items())
  assert sorted(set(b for f, b in buckets.items() if 256 <= f < 512)) == list(range(256, 513, 32))


def test_griffin_lim_picks_xla_from_the_threshold(monkeypatch):
  config = tfspecinv.SpectrogramConfig.librosa(n_fft=256, hop_length=64, power=1.0)
  used = []
  original = phase._runner
  monkeypatch.setattr(phase, "_runner", lambda c, jit: used.append(jit) or original(c, jit))
  magnitude = np.ones((config.n_bins, 12), np.float32)
  for iterations in (phase.XLA_MIN_ITERATIONS - 1, phase.XLA_MIN_ITERATIONS):
    tfspecinv.griffin_lim(magnitude, config, iterations=iterations)
  tfspecinv.griffin_lim(magnitude, config, iterations=500, jit_compile=False)
  assert used == [False, True, False]


def test_bad_bins_are_named():
  config = tfspecinv.SpectrogramConfig.librosa(n_fft=512, hop_length=128)
  with pytest.raises(tfspecinv.SpecInvError, match="n_fft=598"):
    tfspecinv.griffin_lim(np.ones((300, 10), np.float32), config)

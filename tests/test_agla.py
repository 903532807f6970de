"""Accelerated Griffin-Lim (AGLA, Nenov, Nguyen and Balazs 2023) in `phase.GriffinLim`."""

import librosa
import numpy as np
import pytest
import tensorflow as tf

import tfspecinv
from tfspecinv import phase

N_FFT, HOP = 1024, 256
CONFIG = tfspecinv.SpectrogramConfig.librosa(n_fft=N_FFT, hop_length=HOP, power=1.0)


@pytest.fixture(scope="module")
def speech_magnitude(speech):
  """`[1, frames, bins]` float32 magnitudes of 1.5 s of real speech (22050 Hz)."""
  audio, rate = speech
  stft = librosa.stft(audio[:int(1.5 * rate)], n_fft=N_FFT, hop_length=HOP)
  return tf.constant(np.abs(stft).T[None], tf.float32)


def _spectral_convergence_db(runner, magnitude, state):
  """`|stft(istft(magnitude * angles))|` against `magnitude`, in dB (NumPy, float64)."""
  waveform = runner.waveform(magnitude, state).numpy()[0].astype(np.float64)
  target = magnitude.numpy()[0].astype(np.float64)
  rebuilt = np.abs(librosa.stft(waveform, n_fft=N_FFT, hop_length=HOP)).T
  return 20 * np.log10(np.linalg.norm(rebuilt - target) / np.linalg.norm(target))


# On this clip AGLA leads by about 1.4 dB at 60 iterations from random phases
# and 0.5 dB at 30 from PGHI (FGLA catches up from about 100 iterations on).
@pytest.mark.parametrize("init, iterations, margin_db", [("random", 60, 0.7), ("pghi", 30, 0.25)])
def test_agla_converges_further_than_fgla_at_equal_iterations(speech_magnitude, init, iterations,
                                                             margin_db):
  fgla = phase.GriffinLim(CONFIG)
  agla = phase.GriffinLim(CONFIG, algorithm="agla")
  fgla_state = fgla.run(speech_magnitude, fgla.start(speech_magnitude, init), iterations,
                        momentum=0.99)
  agla_state = agla.run(speech_magnitude, agla.start(speech_magnitude, init), iterations)
  assert isinstance(agla_state, phase.AGLAState)
  fgla_db = _spectral_convergence_db(fgla, speech_magnitude, fgla_state)
  agla_db = _spectral_convergence_db(agla, speech_magnitude, agla_state)
  assert agla_db < fgla_db - margin_db, (agla_db, fgla_db)


def test_gamma_one_is_fast_griffin_lim(speech_magnitude):
  """With gamma = 1 the relaxation vanishes and AGLA is FGLA with momentum alpha."""
  magnitude = tf.cast(speech_magnitude, tf.float64)
  fgla = phase.GriffinLim(CONFIG)
  agla = phase.GriffinLim(CONFIG, algorithm="agla", agla=(0.9, 1.3, 1.0))
  ours = agla.run(magnitude, agla.start(magnitude, seed=2), 20)
  reference = fgla.run(magnitude, fgla.start(magnitude, seed=2), 20, momentum=0.9)
  # Compare magnitude * angles: phases of near-silent cells are ill-conditioned.
  scale = magnitude.numpy()
  error = np.abs(scale * (ours.angles.numpy() - reference.angles.numpy())).max() / scale.max()
  assert error < 1e-10


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64])
@pytest.mark.parametrize("frames", [7, 61])
def test_xla_loop_equals_executor_loop(dtype, frames):
  """The XLA loop pads frames to a bucket with zero magnitude; the real frames must not change."""
  config = tfspecinv.SpectrogramConfig.librosa(n_fft=256, hop_length=64, representation="stft")
  magnitude = tf.constant(np.random.default_rng(frames).random((2, frames, config.n_bins)),
                          dtype)
  xla = phase.GriffinLim(config, jit_compile=True, algorithm="agla")
  plain = phase.GriffinLim(config, algorithm="agla")
  assert xla.jit_compile
  ours = xla.run(magnitude, xla.start(magnitude, seed=3), 12)
  reference = plain.run(magnitude, plain.start(magnitude, seed=3), 12)
  tolerance = 1e-12 if dtype == tf.float64 else 1e-5
  for a, b in zip(ours, reference):
    assert a.shape == b.shape == magnitude.shape
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=tolerance * np.abs(b.numpy()).max())


@pytest.mark.parametrize("jit_compile", [False, True], ids=["tf", "xla"])
def test_chunked_runs_equal_one_run(speech_magnitude, jit_compile):
  runner = phase.GriffinLim(CONFIG, jit_compile=jit_compile, algorithm="agla")
  start = runner.start(speech_magnitude, "pghi")
  whole = runner.run(speech_magnitude, start, 50)
  chunked = runner.run(speech_magnitude, runner.run(speech_magnitude, start, 25), 25)
  for a, b in zip(chunked, whole):
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5 * np.abs(b.numpy()).max())
  assert runner.trace_count == 1


@pytest.mark.parametrize("jit_compile", [False, True], ids=["tf", "xla"])
def test_runner_does_not_retrace(jit_compile):
  config = tfspecinv.SpectrogramConfig.librosa(n_fft=256, hop_length=64, power=1.0)
  runner = phase.GriffinLim(config, jit_compile=jit_compile, algorithm="agla")
  for frames, length, agla in ((20, -1, None), (31, 31 * 64, (0.9, 1.2, 1.3))):
    mag = tf.ones([2, frames, config.n_bins])
    state = runner.run(mag, runner.start(mag), 3, length=length, agla=agla)
    assert state.angles.shape == state.rebuilt.shape == state.velocity.shape == mag.shape
  assert runner.trace_count == 1


def test_fgla_state_continues_with_agla(speech_magnitude):
  fgla = phase.GriffinLim(CONFIG)
  agla = phase.GriffinLim(CONFIG, algorithm="agla")
  state = fgla.run(speech_magnitude, fgla.start(speech_magnitude, "pghi"), 10)
  before = _spectral_convergence_db(fgla, speech_magnitude, state)
  state = agla.run(speech_magnitude, state, 10)
  assert _spectral_convergence_db(agla, speech_magnitude, state) < before


def test_griffin_lim_runs_agla(speech):
  audio, rate = speech
  magnitude = np.abs(librosa.stft(audio[:rate], n_fft=512, hop_length=128)).astype(np.float32)
  config = tfspecinv.SpectrogramConfig.librosa(n_fft=512, hop_length=128, power=1.0)
  batch = np.stack([magnitude, magnitude[:, ::-1]])
  ours = tfspecinv.griffin_lim(batch, config, iterations=8, algorithm="agla", seed=4).numpy()
  single = tfspecinv.griffin_lim(magnitude, config, iterations=8, algorithm="agla",
                                 seed=4).numpy()
  assert ours.shape == (2,) + single.shape
  np.testing.assert_allclose(ours[0], single, atol=1e-5 * np.abs(single).max())


@pytest.mark.parametrize("agla", [(0.99, 1.1), (0.99, -1.0, 1.2), (0.99, 1.1, 2.0),
                                  (np.nan, 1.1, 1.2), "abc"])
def test_bad_parameters_are_named(agla):
  with pytest.raises(tfspecinv.SpecInvError, match="agla="):
    phase.GriffinLim(CONFIG, algorithm="agla", agla=agla)


def test_bad_algorithm_is_named():
  with pytest.raises(tfspecinv.SpecInvError, match="algorithm='gla'"):
    phase.GriffinLim(CONFIG, algorithm="gla")


def test_matches_a_numpy_reference_of_the_update(speech):
  """The paper's three sequences, written out with librosa's STFT (float64)."""
  audio, rate = speech
  magnitude = np.abs(librosa.stft(audio[:rate], n_fft=512, hop_length=128))
  theta = np.random.default_rng(5).uniform(0, 2 * np.pi, magnitude.shape)
  alpha, beta, gamma = 0.99, 1.1, 1.25
  consistent = lambda x: librosa.stft(librosa.istft(x, hop_length=128, n_fft=512), n_fft=512,
                                      hop_length=128)
  on_magnitude = lambda x: magnitude * np.exp(1j * np.angle(x))
  c = magnitude * np.exp(1j * theta)
  t = d = consistent(on_magnitude(c))  # A fresh state: t_0 = d_0 = P_C1(P_C2(c_0)).
  for _ in range(12):
    t_new = (1 - gamma) * d + gamma * consistent(on_magnitude(c))
    c, d, t, t_previous = t_new + alpha * (t_new - t), t_new + beta * (t_new - t), t_new, t
  config = tfspecinv.SpectrogramConfig.librosa(n_fft=512, hop_length=128, power=1.0)
  runner = phase.GriffinLim(config, algorithm="agla", agla=(alpha, beta, gamma))
  mag = tf.constant(magnitude.T[None])
  state = runner.run(mag, runner.start(mag, "given", phase=theta.T[None]), 12)
  np.testing.assert_allclose(magnitude.T * state.angles.numpy()[0], on_magnitude(c).T,
                             atol=1e-10 * magnitude.max())
  np.testing.assert_allclose(state.rebuilt.numpy()[0], t.T, atol=1e-10 * np.abs(t).max())
  np.testing.assert_allclose(state.velocity.numpy()[0], (t - t_previous).T,
                             atol=1e-10 * np.abs(t).max())

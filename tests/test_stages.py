"""Tests of `tfspecinv.stages`: each stage eagerly, in a `tf.function` and under XLA.

References are independent, in float64: librosa's `griffinlim` (zero-phase
start) for the Griffin-Lim stage, librosa's mel filterbank and NumPy for
`prepare`, the known minimum of a quadratic bowl for the L-BFGS stage,
SciPy's `lfilter` for the pre-emphasis filter.
"""

import librosa
import numpy as np
import pytest
import scipy.signal
import tensorflow as tf

from tfspecinv import SpecInvError, SpectrogramConfig
from tfspecinv import optimize
from tfspecinv import phase
from tfspecinv import pipeline
from tfspecinv import stages
from tfspecinv import transforms

MEL = SpectrogramConfig.librosa(sample_rate=22050, n_fft=512, hop_length=128, n_mels=40,
                                fmax=8000.0, representation="mel")
STFT = SpectrogramConfig.librosa(sample_rate=22050, n_fft=512, hop_length=128,
                                 representation="stft", scale="linear")
MODES = ("eager", "function", "xla")
DTYPES = (tf.float32, tf.float64)


def _call(mode, fn, *args):
  """`fn(*args)` eagerly, traced by `tf.function`, or compiled with XLA."""
  if mode == "eager":
    return fn(*args)
  return tf.function(fn, jit_compile=mode == "xla", autograph=False)(*args)


def _batch(speech, batch, seconds=0.4):
  audio, _ = speech
  n = int(seconds * 22050)
  return np.stack([audio[i * n // 2:i * n // 2 + n] for i in range(batch)])


def _native(signal, config, dtype):
  """`[batch, frames, features]` of the representation (float64 forward, then cast)."""
  values = transforms.forward(tf.constant(signal, tf.float64), config).numpy()
  return tf.constant(np.swapaxes(values, -1, -2), dtype)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_prepare_stft_normalises_against_numpy(speech, mode, dtype):
  signal = _batch(speech, 2)
  signal[1] = 0.0  # A silent example.
  power = np.abs(librosa.stft(signal, n_fft=512, hop_length=128)) ** 2  # [2, bins, frames]
  values = tf.constant(np.swapaxes(power, -1, -2), dtype)
  prepared = _call(mode, lambda v: stages.prepare(v, STFT, 10), values)
  magnitude = np.sqrt(np.swapaxes(power, -1, -2))
  peak = magnitude.max(axis=(1, 2))
  tol = 1e-6 if dtype == tf.float32 else 1e-12
  np.testing.assert_allclose(prepared.scale.numpy()[:, 0, 0], [peak[0], 1.0], rtol=tol)
  np.testing.assert_array_equal(prepared.silent.numpy()[:, 0], [False, True])
  np.testing.assert_allclose(prepared.magnitude.numpy()[0], magnitude[0] / peak[0], rtol=tol,
                             atol=tol)
  np.testing.assert_allclose(prepared.normalised_linear.numpy()[0],
                             magnitude[0] ** 2 / peak[0] ** 2, rtol=tol, atol=tol)
  assert prepared.magnitude.dtype == dtype


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("batch_shape", [(1,), (3,)])
def test_prepare_mel_estimate_reproduces_the_mel_bands(speech, mode, batch_shape):
  signal = _batch(speech, batch_shape[0])
  values = _native(signal, MEL, tf.float64)  # Power mel (scale 'linear').
  prepared = _call(mode, lambda v: stages.prepare(v, MEL, 300), values)
  assert prepared.magnitude.shape == (batch_shape[0], values.shape[1], MEL.n_bins)
  fb = librosa.filters.mel(sr=22050, n_fft=512, n_mels=40, fmax=8000.0)
  mel = values.numpy()
  scale = prepared.scale.numpy()
  rebuilt = (prepared.magnitude.numpy() * scale) ** 2 @ fb.T
  # NNLS fits the bands (relative Frobenius error per example).
  error = np.linalg.norm(rebuilt - mel, axis=(1, 2)) / np.linalg.norm(mel, axis=(1, 2))
  assert np.all(error < 0.02), error
  np.testing.assert_allclose(prepared.linear.numpy(), np.maximum(mel, 0.0), rtol=1e-12)


def test_resolve_domain():
  assert stages.resolve_domain("auto", MEL) == "mixed"
  assert stages.resolve_domain("auto", MEL.replace(representation="mfcc", n_mfcc=13)) == "native"
  assert stages.resolve_domain("log", MEL) == "log"
  with pytest.raises(SpecInvError, match="domain='dB'"):
    stages.resolve_domain("dB", MEL)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_griffin_lim_stage_matches_librosa(speech, mode, dtype):
  signal = _batch(speech, 2)
  magnitude = np.abs(librosa.stft(signal, n_fft=512, hop_length=128))  # [2, bins, frames]
  expected = librosa.griffinlim(magnitude, n_iter=6, hop_length=128, n_fft=512, init=None,
                                momentum=0.99)
  result = _call(mode, lambda m: stages.griffin_lim(m, STFT, 6, 0.99, "zeros"),
                 tf.constant(np.swapaxes(magnitude, -1, -2), dtype))
  assert isinstance(result.state, phase.GriffinLimState)
  assert result.waveform.dtype == dtype
  tol = 2e-3 if dtype == tf.float32 else 1e-8
  error = np.max(np.abs(result.waveform.numpy() - expected)) / np.max(np.abs(expected))
  assert error < tol


@pytest.mark.parametrize("mode", MODES)
def test_griffin_lim_stage_pghi_start_fits_better_than_zeros(speech, mode):
  signal = _batch(speech, 1)
  magnitude = tf.constant(np.abs(librosa.stft(signal, n_fft=512, hop_length=128)).swapaxes(1, 2),
                          tf.float32)

  def fit(init):
    out = _call(mode, lambda m: stages.griffin_lim(m, STFT, 4, 0.99, init), magnitude)
    estimate = np.abs(librosa.stft(out.waveform.numpy(), n_fft=512, hop_length=128)).swapaxes(1, 2)
    return np.linalg.norm(estimate - magnitude.numpy()) / np.linalg.norm(magnitude.numpy())

  assert fit("pghi") < 0.5 * fit("zeros")


def _bowl(dtype):
  """Per example `sum(w * (x - c) ** 2)`: minimum at `c`."""
  def loss(position, center, weights):
    return tf.reduce_sum(weights[:, 0] * tf.square(position - center[:, 0]), axis=-1)
  specs = [tf.TensorSpec([None, 1, None], dtype), tf.TensorSpec([None, 1, None], dtype)]
  return optimize.LbfgsRunner(loss, specs, dtype)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [1, 3])
def test_lbfgs_stage_finds_the_minimum_of_a_quadratic_bowl(mode, dtype, batch):
  rng = np.random.RandomState(0)
  center = rng.randn(batch, 1, 8)
  weights = rng.uniform(0.5, 5.0, size=(batch, 1, 8))
  runner = _bowl(dtype)
  args = (tf.constant(center, dtype), tf.constant(weights, dtype))
  results = _call(mode, lambda x, *a: stages.lbfgs(runner, x, a, 50),
                  tf.zeros([batch, 8], dtype), *args)
  tol = 1e-4 if dtype == tf.float32 else 1e-8
  np.testing.assert_allclose(results.position.numpy(), center[:, 0], atol=tol)
  assert np.all(results.objective_value.numpy() < tol)
  assert int(results.num_iterations) <= 50


@pytest.mark.parametrize("mode", MODES)
def test_lbfgs_arguments_and_stage_lower_the_mel_loss(speech, mode):
  signal = _batch(speech, 2)
  values = _native(signal, MEL, tf.float32)
  prepared = stages.prepare(values, MEL, 100)
  start = stages.griffin_lim(prepared.magnitude, MEL, 4, 0.99, "pghi")
  problem = optimize.WaveformProblem(MEL, stages.resolve_domain("auto", MEL))
  position, args, normalised = stages.lbfgs_arguments(prepared, start.waveform, problem)
  assert normalised and position.shape == start.waveform.shape
  runner = optimize.LbfgsRunner(problem.loss, [tf.TensorSpec([None, None, None], tf.float32),
                                               tf.TensorSpec([None, 1, 1], tf.float32)])
  before = problem.loss(position, *args).numpy()
  results = _call(mode, lambda x, *a: stages.lbfgs(runner, x, a, 20), position, *args)
  assert np.all(results.objective_value.numpy() < 0.5 * before)


def test_lbfgs_arguments_native_domain_runs_at_the_input_level(speech):
  values = _native(_batch(speech, 1), MEL, tf.float32)
  prepared = stages.prepare(values, MEL, 50)
  signal = tf.ones([1, MEL.num_samples(int(values.shape[1]))])
  problem = optimize.WaveformProblem(MEL, "native")
  position, args, normalised = stages.lbfgs_arguments(prepared, signal, problem)
  assert not normalised
  np.testing.assert_allclose(position.numpy(), prepared.scale.numpy()[:, :, 0] * signal.numpy())
  assert args[0] is prepared.values


def test_pad_to_bucket_pads_to_phase_buckets():
  position, args = stages.pad_to_bucket(tf.ones([2, 100 * 128]), (tf.ones([2, 101, 40]),
                                                                    tf.ones([2, 1, 1])), MEL)
  assert args[0].shape[1] == int(phase.bucket_frames(101)) == 104
  assert position.shape[1] == 100 * 128 + 3 * 128
  assert int(args[2]) == 100 * 128 and int(args[3]) == 101


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_finish_restores_the_level_and_silences(mode, dtype):
  magnitude = np.ones([2, 5, STFT.n_bins])
  magnitude[0] *= 3.0
  magnitude[1] = 0.0
  values = tf.constant(magnitude ** 2, dtype)
  prepared = stages.prepare(values, STFT, 1)
  signal = tf.constant(np.arange(2 * 7).reshape(2, 7), dtype)
  finished = _call(mode, lambda s: stages.finish(s, prepared), signal)
  np.testing.assert_allclose(finished.waveform.numpy(), [np.arange(7) * 3.0, np.zeros(7)])
  np.testing.assert_allclose(finished.normalised.numpy(), signal.numpy())
  at_level = _call(mode, lambda s: stages.finish(s, prepared, normalised=False), signal)
  np.testing.assert_allclose(at_level.normalised.numpy()[0], np.arange(7) / 3.0, rtol=1e-6)
  np.testing.assert_allclose(at_level.waveform.numpy()[1], np.zeros(7))


@pytest.mark.parametrize("mode", MODES)
def test_undo_preemphasis_inverts_the_filter_for_stft(speech, mode):
  config = STFT.replace(preemphasis=0.97)
  original = _batch(speech, 2)
  emphasised = scipy.signal.lfilter([1.0, -0.97], [1.0], original, axis=-1)
  out = _call(mode, lambda s: stages.undo_preemphasis(s, config),
              tf.constant(emphasised, tf.float64))
  np.testing.assert_allclose(out.numpy(), original, atol=1e-9)


def test_check_length_default_and_errors():
  frames = MEL.num_frames(22050)
  assert stages.check_length(None, frames, MEL) == MEL.num_samples(frames)
  assert stages.check_length(22050, frames, MEL) == 22050
  with pytest.raises(SpecInvError, match="length=100 samples gives"):
    stages.check_length(100, frames, MEL)
  with pytest.raises(SpecInvError, match="too few to carry any samples"):
    stages.check_length(None, 0, MEL)


def test_reconstruct_graph_compiles_with_xla_and_matches_the_graph(speech):
  """The whole in-graph inverter (default method, mel) under `jit_compile=True`.

  XLA fuses and reorders floating-point work (the NNLS magnitudes differ by
  about 5e-4 relative in float32), and 32 Griffin-Lim plus 350 L-BFGS
  iterations carry that into the waveform: measured 1.9-2.6% of the peak at
  most, correlation 0.9999, fits within 0.02 dB. Tolerances: 10% of the
  peak, correlation 0.999, fits within 0.2 dB. (The random draws, PGHI's
  included, are Philox by name, so XLA draws the same numbers.)
  """
  audio, _ = speech
  signal = audio[None, :22050]
  values = _native(signal, MEL, tf.float32)
  mel = np.swapaxes(values.numpy(), -1, -2)[0]
  graph = tf.function(lambda v: pipeline.reconstruct_graph(v, MEL), autograph=False)
  xla = tf.function(lambda v: pipeline.reconstruct_graph(v, MEL), jit_compile=True,
                    autograph=False)
  a, b = graph(values).numpy()[0], xla(values).numpy()[0]
  assert a.shape == b.shape == (MEL.num_samples(int(values.shape[1])),)
  fit_a, fit_b = pipeline.fit_db(a, mel, MEL), pipeline.fit_db(b, mel, MEL)
  assert fit_a < -40 and abs(fit_a - fit_b) < 0.2, (fit_a, fit_b)
  assert np.corrcoef(a, b)[0, 1] > 0.999
  assert np.max(np.abs(a - b)) / np.max(np.abs(a)) < 0.1


@pytest.mark.parametrize("mode", MODES)
def test_griffin_lim_loop_is_what_run_compiles(speech, mode):
  magnitude = tf.constant(np.abs(librosa.stft(_batch(speech, 2), n_fft=512,
                                              hop_length=128)).swapaxes(1, 2), tf.float32)
  runner = phase.GriffinLim(STFT)
  state = runner.start(magnitude, "zeros")
  expected = runner.run(magnitude, state, 5, 0.99)
  angles, rebuilt = _call(mode, lambda m, a, r: runner.loop(m, a, r, 5, 0.99), magnitude,
                          state.angles, state.rebuilt)
  np.testing.assert_allclose(angles.numpy(), expected.angles.numpy(), atol=1e-4)
  np.testing.assert_allclose(rebuilt.numpy(), expected.rebuilt.numpy(), atol=1e-4)


@pytest.mark.parametrize("mode", MODES)
def test_lbfgs_runner_graph_methods_continue_like_run(mode):
  runner = _bowl(tf.float64)
  rng = np.random.RandomState(1)
  args = (tf.constant(rng.randn(2, 1, 6)), tf.constant(rng.uniform(1, 3, (2, 1, 6))))
  start = runner.start(tf.zeros([2, 6], tf.float64), *args)
  expected = runner.run(start, 3, 0.0, *args)
  results = _call(mode, lambda *a: runner.run_graph(runner.start_graph(tf.zeros([2, 6],
                                                                                tf.float64), *a),
                                                    tf.constant(3), tf.constant(0.0, tf.float64),
                                                    *a), *args)
  assert int(results.num_iterations) == int(expected.num_iterations) == 3
  np.testing.assert_allclose(results.position.numpy(), expected.position.numpy(), atol=1e-10)

"""The L-BFGS runner: unit-step line search, chunking, the bucketed XLA loop, tracing."""

import os
import warnings

import librosa
import numpy as np
import pytest
import soundfile
import tensorflow as tf

import tfspecinv
from tfspecinv import optimize
from tfspecinv import pipeline
from tfspecinv import stages

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "samples", "speech_female_ljspeech.wav")
SR = 22050
MEL_CONFIG = tfspecinv.SpectrogramConfig.librosa(sample_rate=SR, n_fft=512, hop_length=128,
                                                  n_mels=64, fmax=8000.0, representation="mel")


def _clip(offset=0.0, seconds=1.0):
  data, sr = soundfile.read(SAMPLE, dtype="float64")
  assert sr == SR
  start = int(offset * sr)
  return data[start:start + int(seconds * sr)]


def _mel(y):
  return librosa.feature.melspectrogram(y=y, sr=SR, n_fft=512, hop_length=128, n_mels=64,
                                        fmax=8000.0)


def _problem(dtype, seconds=1.0, jit_compile=False):
  """(runner, start position, args) of the default mel loss on a real clip's Griffin-Lim start."""
  y = _clip(0.3, seconds)
  signal, _ = tfspecinv.reconstruct(_mel(y), MEL_CONFIG, method="griffin_lim", gl_iters=16,
                                    dtype=dtype)
  eng = pipeline.engine_for(MEL_CONFIG, dtype)
  native = tf.constant(_mel(y).T[None], dtype)
  linear, _ = eng.linear_magnitude(native, tf.constant(200))
  peak = tf.reduce_max(linear)
  problem, runner = eng.waveform_runner("mixed", 0.5, None, jit_compile)
  position = tf.constant(signal[None] / np.sqrt(float(peak)), dtype)
  args = (problem.prepare_target(linear / peak), tf.ones([1, 1, 1], dtype))
  if jit_compile:
    position, args = stages.pad_to_bucket(position, args, MEL_CONFIG)
  return runner, position, args


@pytest.mark.parametrize("jit_compile", [False, True])
def test_chunked_run_equals_one_call_in_float64(jit_compile):
  runner, position, args = _problem(tf.float64, jit_compile=jit_compile)
  whole = runner.run(runner.start(position, *args), 40, 0.0, *args)
  chunked = runner.start(position, *args)
  for until in (7, 10, 25, 40):
    chunked = runner.run(chunked, until, 0.0, *args)
  assert int(whole.num_iterations) == int(chunked.num_iterations) == 40
  scale = np.abs(whole.position.numpy()).max()
  np.testing.assert_allclose(chunked.position.numpy(), whole.position.numpy(), rtol=0,
                             atol=1e-5 * scale)
  assert int(whole.num_objective_evaluations) == int(chunked.num_objective_evaluations)


def test_bucketed_xla_loop_equals_the_executor_loop_in_float64():
  y = _clip(0.2, 0.93)  # 161 frames: padded to a bucket of 176.
  out = {}
  for jit in (False, True):
    out[jit], result = tfspecinv.reconstruct(_mel(y), MEL_CONFIG, lbfgs_iters=30, length=len(y),
                                             dtype=tf.float64, jit_compile=jit)
    assert result.lbfgs_iterations == 30
  scale = np.abs(out[False]).max()
  np.testing.assert_allclose(out[True], out[False], rtol=0, atol=1e-9 * scale)


def test_unit_step_is_accepted_first():
  """Each L-BFGS iteration costs about one evaluation, not TFP's three (bracket + secant)."""
  y = _clip(0.5, 1.0)
  _, result = tfspecinv.reconstruct(_mel(y), MEL_CONFIG, lbfgs_iters=100, length=len(y))
  assert result.lbfgs_iterations == 100
  assert result.lbfgs_evaluations <= 1.5 * result.lbfgs_iterations
  # And the fit is as good as TFP's full search gets in the same iterations (-33 dB here).
  assert result.spectral_convergence_db < -30.0


def test_failed_unit_step_falls_back_to_the_search():
  """A badly scaled first step (along the raw gradient) is searched for, then L-BFGS converges."""
  def loss(position, scale):
    return tf.reduce_sum(scale * tf.square(position - 3.0), axis=-1)

  runner = optimize.LbfgsRunner(loss, [tf.TensorSpec([None, None], tf.float64)], tf.float64)
  scale = tf.constant([[1e3, 1.0, 1e-2], [1e-3, 1.0, 1.0]], tf.float64)
  start = runner.start(tf.zeros([2, 3], tf.float64), scale)
  first = runner.run(start, 1, 0.0, scale)
  assert int(first.num_objective_evaluations) > 2  # The unit step was refused for one example.
  assert np.all(first.objective_value.numpy() < start.objective_value.numpy())
  results = runner.run(first, 60, 0.0, scale)
  np.testing.assert_allclose(results.position.numpy(), 3.0, atol=1e-6)
  # Once at the minimum no step decreases the loss: the search reports it, the point stays.
  assert np.all(results.objective_value.numpy() < 1e-10)


def test_xla_loop_never_retraces_for_new_lengths_and_chunks():
  eng = pipeline.engine_for(MEL_CONFIG, tf.float32)
  _, runner = eng.waveform_runner("mixed", 0.5, None, True)
  tfspecinv.reconstruct(_mel(_clip(0.0, 1.0)), MEL_CONFIG, lbfgs_iters=100)
  traces = runner.trace_count
  assert traces == 1
  for offset, seconds in ((0.4, 1.0), (0.1, 0.8), (0.0, 1.3)):
    _, result = tfspecinv.reconstruct(_mel(_clip(offset, seconds)), MEL_CONFIG,
                                      lbfgs_iters=120)
    assert result.lbfgs_iterations == 120
  assert runner.trace_count == traces


def test_xla_is_the_default_from_100_iterations():
  assert not pipeline.lbfgs_uses_xla(None, 99)
  assert pipeline.lbfgs_uses_xla(None, 100)
  assert pipeline.lbfgs_uses_xla(True, 5) and not pipeline.lbfgs_uses_xla(False, 500)


def test_reflect_padding_is_not_bucketed():
  """torchaudio's reflect padding reads the signal's end: the XLA loop keeps exact shapes."""
  problem = optimize.WaveformProblem(tfspecinv.SpectrogramConfig.torchaudio(), "mixed")
  assert not problem.bucketable
  assert optimize.WaveformProblem(MEL_CONFIG, "mixed").bucketable
  assert not optimize.WaveformProblem(MEL_CONFIG, "native").bucketable


def _lbfgs_state(pairs, filled, batch, n, seed=0):
  """An L-BFGS state whose last `filled` pairs (of `pairs`) come from a positive-definite quadratic."""
  rng = np.random.default_rng(seed)
  curvature = rng.uniform(0.1, 10.0, size=(batch, n))
  s = np.zeros((pairs, batch, n))
  s[pairs - filled:] = rng.standard_normal((filled, batch, n))
  y = curvature * s + 1e-3 * (s != 0) * rng.standard_normal(s.shape)
  as_tensor = lambda a: tf.constant(a, tf.float64)
  return optimize.tfp_lbfgs.LBfgsOptimizerResults(
      converged=tf.zeros([batch], tf.bool), failed=tf.zeros([batch], tf.bool),
      num_iterations=tf.constant(filled), num_objective_evaluations=tf.constant(filled + 1),
      position=as_tensor(rng.standard_normal((batch, n))), objective_value=as_tensor(np.ones(batch)),
      objective_gradient=as_tensor(rng.standard_normal((batch, n))), position_deltas=as_tensor(s),
      gradient_deltas=as_tensor(y))


@pytest.mark.parametrize("pairs,filled", [(5, 0), (5, 2), (5, 5), (3, 3), (10, 7)])
@pytest.mark.parametrize("batch", [1, 3])
def test_unrolled_two_loop_direction_equals_tfps(pairs, filled, batch):
  """`_two_loop_direction` is TFP's `_get_search_direction` (two tf.scans), unrolled: same values."""
  state = _lbfgs_state(pairs, filled, batch, 257)
  ours = optimize._two_loop_direction(state).numpy()  # pylint: disable=protected-access
  tfps = optimize._TFP_SEARCH_DIRECTION(state).numpy()  # pylint: disable=protected-access
  np.testing.assert_allclose(ours, tfps, rtol=1e-12, atol=1e-12 * np.abs(tfps).max())
  if filled:
    # A descent direction that is not the raw gradient: the memory is used.
    gradient = state.objective_gradient.numpy()
    assert np.all(np.sum(ours * gradient, axis=-1) < 0)
    assert not np.allclose(ours, -gradient)


def _numpy_two_loop(s, y, gradient):
  """`-H g` by the L-BFGS two-loop recursion in float64, written from Nocedal and Wright,
  Numerical Optimization (2nd ed., 2006), Algorithm 7.4 with H0 = gamma I, gamma from eq. (7.20).

  `s`, `y`: `[m, n]` correction pairs, oldest first; `gradient`: `[n]`.
  """
  if not len(s):
    return -gradient
  rho = 1.0 / np.einsum("in,in->i", y, s)
  alpha = np.zeros(len(s))
  q = gradient.copy()
  for i in reversed(range(len(s))):
    alpha[i] = rho[i] * (s[i] @ q)
    q = q - alpha[i] * y[i]
  r = (s[-1] @ y[-1]) / (y[-1] @ y[-1]) * q
  for i in range(len(s)):
    beta = rho[i] * (y[i] @ r)
    r = r + s[i] * (alpha[i] - beta)
  return -r


def test_numpy_two_loop_reference_is_the_bfgs_inverse_hessian():
  """The reference itself: equal to the dense BFGS update (N&W eq. 6.17) from H0 = gamma I."""
  state = _lbfgs_state(4, 4, 1, 6, seed=3)
  s, y = state.position_deltas.numpy()[:, 0], state.gradient_deltas.numpy()[:, 0]
  g = state.objective_gradient.numpy()[0]
  h = (s[-1] @ y[-1]) / (y[-1] @ y[-1]) * np.eye(6)
  for si, yi in zip(s, y):
    rho = 1.0 / (yi @ si)
    h = ((np.eye(6) - rho * np.outer(si, yi)) @ h @ (np.eye(6) - rho * np.outer(yi, si))
         + rho * np.outer(si, si))
  np.testing.assert_allclose(_numpy_two_loop(s, y, g), -h @ g, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("static_pairs", [True, False], ids=["static_pairs", "unknown_pairs"])
@pytest.mark.parametrize("pairs,filled", [(5, 0), (5, 3), (5, 5), (10, 7)])
def test_two_loop_direction_equals_a_numpy_two_loop_recursion(static_pairs, pairs, filled):
  """`_two_loop_direction` against NumPy float64 (Algorithm 7.4) on random correction pairs.

  With the number of pairs unknown when traced (`[None, None, None]`), it is
  TFP's `_get_search_direction`; with it static, the unrolled loop. Both must
  use only the filled pairs (TFP fills the queue from its end; the zero
  pairs before it drop out) and give `-g` before the first pair. Tolerance:
  1e-10 of the largest component, float64 throughout.
  """
  batch = 2
  state = _lbfgs_state(pairs, filled, batch, 64, seed=pairs + filled)
  spec = tf.TensorSpec([None, None, None] if not static_pairs else [pairs, None, None],
                       tf.float64)
  direction = tf.function(
      lambda s, y: optimize._two_loop_direction(  # pylint: disable=protected-access
          state._replace(position_deltas=s, gradient_deltas=y)),
      input_signature=[spec, spec])
  ours = direction(state.position_deltas, state.gradient_deltas).numpy()
  s, y = state.position_deltas.numpy(), state.gradient_deltas.numpy()
  gradient = state.objective_gradient.numpy()
  want = np.stack([_numpy_two_loop(s[pairs - filled:, b], y[pairs - filled:, b], gradient[b])
                   for b in range(batch)])
  np.testing.assert_allclose(ours, want, rtol=0, atol=1e-10 * np.abs(want).max())
  if filled:
    assert np.all(np.sum(ours * gradient, axis=-1) < 0)  # A descent direction,
    assert not np.allclose(ours, -gradient)               # using the memory.


def test_native_loss_keeps_a_longer_memory():
  """MFCC/dB values ('native') get more correction pairs than the linear-domain losses."""
  eng = pipeline.engine_for(MEL_CONFIG, tf.float64)
  _, native = eng.waveform_runner("native", 0.5)
  _, mixed = eng.waveform_runner("mixed", 0.5)
  assert native.pairs == optimize.correction_pairs("native") > mixed.pairs
  frames = MEL_CONFIG.num_frames(1000)
  results = native.start(tf.zeros([2, 1000], tf.float64), tf.ones([2, frames, 64], tf.float64),
                         tf.ones([2, 1, 1], tf.float64))
  assert results.position_deltas.shape[0] == native.pairs


# ------------------------------------------------ guarded private TFP / TF pieces
def test_private_targets_match_the_installed_tensorflow():
  """On the TF/TFP that is installed, every speed-up is in use and nothing warns."""
  optimize._private_internals.cache_clear()  # pylint: disable=protected-access
  try:
    with warnings.catch_warnings():
      warnings.simplefilter("error", RuntimeWarning)
      internals = optimize._private_internals()  # pylint: disable=protected-access
  finally:
    optimize._private_internals.cache_clear()  # pylint: disable=protected-access
  assert internals == optimize.PrivateInternals(line_search=True, direction=True, grappler=True)


def _changed_line_search(original, calls):
  def hager_zhang(value_and_gradients_function, initial_step_size=None, value_at_zero=None,
                  converged=None, max_iterations=50, new_option=None):
    del new_option
    calls.append("hager_zhang")
    return original(value_and_gradients_function, initial_step_size=initial_step_size,
                    value_at_zero=value_at_zero, converged=converged,
                    max_iterations=max_iterations)
  return hager_zhang


def _changed_direction(original, calls):
  def _get_search_direction(state, new_option=None):
    del new_option
    calls.append("_get_search_direction")
    return original(state)
  return _get_search_direction


def _changed_call_options(original, calls):
  class FunctionCallOptions(original):  # pylint: disable=too-few-public-methods
    def __init__(self, executor_type=None, config_proto=None, new_option=None):
      del new_option
      calls.append("FunctionCallOptions")
      super().__init__(executor_type, config_proto)
  return FunctionCallOptions


@pytest.mark.parametrize("module,name,change,internal", [
    ("tfp_bfgs_utils", "hager_zhang", _changed_line_search, "line_search"),
    ("tfp_lbfgs", "_get_search_direction", _changed_direction, "direction"),
    ("tf_context", "FunctionCallOptions", _changed_call_options, "grappler"),
])
def test_changed_private_target_falls_back_with_one_warning(monkeypatch, module, name, change,
                                                            internal):
  """A target whose signature changed is left to TFP: one warning, L-BFGS still converges.

  The line search and the direction fall back to TFP's own functions (here the
  changed ones, which call the originals); the call options are left alone.

  Reference: scipy.optimize.minimize (L-BFGS-B, float64) on SciPy's Rosenbrock
  function (`scipy.optimize.rosen`, `rosen_der`), whose minimum is all ones.
  """
  from scipy import optimize as scipy_optimize  # pylint: disable=import-outside-toplevel
  target_module = getattr(optimize, module)
  calls = []
  monkeypatch.setattr(target_module, name, change(getattr(target_module, name), calls))
  optimize._private_internals.cache_clear()  # pylint: disable=protected-access
  monkeypatch.setattr(optimize, "_TFP_SEARCH_DIRECTION", getattr(optimize.tfp_lbfgs,
                                                                 "_get_search_direction"))

  def rosenbrock(position):
    x = position
    return tf.reduce_sum(100.0 * tf.square(x[:, 1:] - tf.square(x[:, :-1]))
                         + tf.square(1.0 - x[:, :-1]), axis=-1)

  starts = np.array([[-1.2, 1.0, -0.5, 0.3], [0.5, -0.7, 1.5, 2.0]])
  try:
    with warnings.catch_warnings(record=True) as caught:
      warnings.simplefilter("always")
      outcomes = []
      for _ in range(2):  # Two runners: two traces, one check, one warning.
        runner = optimize.LbfgsRunner(rosenbrock, [], tf.float64)
        start = runner.start(tf.constant(starts))
        outcomes.append(runner.run(start, 300, 0.0))
  finally:
    optimize._private_internals.cache_clear()  # pylint: disable=protected-access
  changed = [w for w in caught if issubclass(w.category, RuntimeWarning)
             and "private TensorFlow/TFP" in str(w.message)]
  assert len(changed) == 1, [str(w.message) for w in changed]
  assert name in str(changed[0].message)
  if internal == "grappler":
    assert not calls, "the changed FunctionCallOptions was still used"
  else:
    assert calls, f"the changed {name} (TFP's own) was not used"
  for results in outcomes:
    for start, found in zip(starts, results.position.numpy()):
      reference = scipy_optimize.minimize(scipy_optimize.rosen, start, jac=scipy_optimize.rosen_der,
                                          method="L-BFGS-B", options=dict(ftol=1e-15, gtol=1e-10))
      np.testing.assert_allclose(reference.x, 1.0, atol=1e-4)
      np.testing.assert_allclose(found, reference.x, atol=1e-4)
    assert np.all(results.objective_value.numpy() < 1e-8)
  if internal == "line_search":
    # TFP's own search brackets and takes a secant step: more than one evaluation per iteration.
    assert int(outcomes[0].num_objective_evaluations) > int(outcomes[0].num_iterations) + 5


@pytest.mark.parametrize("batch", [1, 2])
def test_undetermined_bins_penalty_matches_numpy(batch):
  """The mixed loss adds UNDETERMINED_WEIGHT * sum((u |X|)^2) / sum(target^2) (NumPy float64).

  |X| from np.fft.rfft of the reflect-padded, Hann-windowed frames (TensorFlowTTS's STFT);
  u from `mel.undetermined_bin_weights`, whose own reference is in tests/test_mel.py.
  """
  from tfspecinv import mel as mel_lib  # pylint: disable=import-outside-toplevel
  config = tfspecinv.conventions.make("tensorflowtts")
  rng = np.random.default_rng(0)
  t = np.arange(4096) / SR
  x = np.stack([np.sin(2 * np.pi * 50.0 * t) + 0.3 * np.sin(2 * np.pi * (440.0 + 100 * b) * t)
                + 0.01 * rng.standard_normal(t.size) for b in range(batch)])
  target = tf.constant(rng.uniform(0.1, 1.0, (batch, 17, 80)))
  problem = optimize.WaveformProblem(config, "mixed")
  assert problem.undetermined is not None
  reference = tf.ones([batch, 1, 1], tf.float64)
  with_term = problem.loss(tf.constant(x), target, reference).numpy()
  problem.undetermined = None
  without = problem.loss(tf.constant(x), target, reference).numpy()
  window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(1024) / 1024)
  padded = np.pad(x, [(0, 0), (512, 512)], mode="reflect")
  frames = np.stack([padded[:, i * 256:i * 256 + 1024] for i in range(17)], axis=1)
  magnitude = np.abs(np.fft.rfft(frames * window, axis=-1))          # [batch, 17, 513]
  u = mel_lib.undetermined_bin_weights(config)
  want = optimize.UNDETERMINED_WEIGHT * np.sum((magnitude * u) ** 2, axis=(1, 2)) / np.sum(
      target.numpy() ** 2, axis=(1, 2))
  assert np.all(want > 0)
  np.testing.assert_allclose(with_term - without, want, rtol=1e-6)


@pytest.mark.parametrize("domain", ["linear", "native"])
def test_undetermined_bins_penalty_only_in_the_mixed_domain(domain):
  assert optimize.WaveformProblem(tfspecinv.conventions.make("tensorflowtts"), domain).undetermined \
      is None
  stft = tfspecinv.SpectrogramConfig.librosa(n_fft=512)
  assert optimize.WaveformProblem(stft, "mixed").undetermined is None


def test_undetermined_bins_penalty_ignores_bucket_padding():
  """RTVC (fmin 55, zero-padded frames) is bucketable: padded frames add nothing to the term."""
  config = tfspecinv.conventions.make("rtvc", preemphasize=False)
  problem = optimize.WaveformProblem(config, "mixed")
  assert problem.undetermined is not None and problem.bucketable
  rng = np.random.default_rng(1)
  t = np.arange(3000) / config.sample_rate
  x = np.sin(2 * np.pi * 30.0 * t)[None] + 0.1 * rng.standard_normal((1, t.size))
  frames = config.num_frames(t.size)
  target = rng.uniform(0.1, 1.0, (1, frames, config.n_mels))
  reference = tf.ones([1, 1, 1], tf.float64)
  want = problem.loss(tf.constant(x), tf.constant(target), reference).numpy()
  padded_x = np.pad(x, [(0, 0), (0, 1000)], constant_values=0.5)
  extra_frames = config.num_frames(t.size + 1000) - frames
  padded_target = np.pad(target, [(0, 0), (0, extra_frames), (0, 0)], constant_values=2.0)
  got = problem.bucketed_loss(tf.constant(padded_x), tf.constant(padded_target), reference,
                              tf.constant(t.size), tf.constant(frames)).numpy()
  np.testing.assert_allclose(got, want, rtol=1e-9)

"""The reconstruction engine: recovery, custom forward models, batching, budgets, tracing, errors."""

import os

import librosa
import numpy as np
import pytest
import soundfile
import tensorflow as tf

import tfspecinv
from tfspecinv import phase
from tfspecinv import pipeline
from tfspecinv.errors import SpecInvError

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "samples", "speech_female_ljspeech.wav")
SR = 22050


def _clip(offset=0.0, seconds=1.0):
  data, sr = soundfile.read(SAMPLE, dtype="float64")
  assert sr == SR
  start = int(offset * sr)
  return data[start:start + int(seconds * sr)]


STFT_CONFIG = tfspecinv.SpectrogramConfig.librosa(sample_rate=SR, n_fft=512, hop_length=128,
                                                   power=1.0)
MEL_CONFIG = tfspecinv.SpectrogramConfig.librosa(sample_rate=SR, n_fft=512, hop_length=128,
                                                  n_mels=64, fmax=8000.0,
                                                  representation="mel")


def _magnitude(y):
  return np.abs(librosa.stft(y, n_fft=512, hop_length=128))


def _mel(y):
  return librosa.feature.melspectrogram(y=y, sr=SR, n_fft=512, hop_length=128, n_mels=64,
                                        fmax=8000.0)


def _sc_db(estimate, target):
  error = np.linalg.norm(estimate - target) / np.linalg.norm(target)
  return 20 * np.log10(max(error, 1e-15))


@pytest.mark.parametrize("kind", ["stft", "mel"])
def test_recovers_signal_from_its_own_consistent_spectrogram(kind):
  y = _clip()
  if kind == "stft":
    # Linear magnitudes: Griffin-Lim iterations are cheap and carry most of the way. On this
    # clip the PGHI start reaches -36.9 dB after 500 of them and -47.2 dB after 1000 (a random
    # start stalls at -40.4): 1-s clips land in different basins, the corpus medians favour PGHI.
    target, config, remake, gl_iters = _magnitude(y), STFT_CONFIG, _magnitude, 1000
  else:
    target, config, remake, gl_iters = _mel(y), MEL_CONFIG, _mel, 32
  waveform, result = tfspecinv.reconstruct(target, config, gl_iters=gl_iters, lbfgs_iters=200,
                                           length=len(y))
  assert waveform.shape == y.shape
  assert waveform.dtype == np.float32
  independent = _sc_db(remake(waveform.astype(np.float64)), target)
  assert independent <= -40.0, independent
  # The engine's own figure agrees with librosa's measurement.
  assert abs(float(result.spectral_convergence_db) - independent) < 1.0
  assert result.gl_iterations == gl_iters and result.lbfgs_iterations == 200
  assert result.stop_reason == "iterations"


def test_lbfgs_improves_on_griffin_lim():
  y = _clip(1.0)
  target = _mel(y)
  # From the same random start: what L-BFGS adds (PGHI's start narrows the gap to ~6 dB).
  _, gl_only = tfspecinv.reconstruct(target, MEL_CONFIG, method="griffin_lim", init="random")
  _, refined = tfspecinv.reconstruct(target, MEL_CONFIG, init="random")
  assert refined.lbfgs_iterations == pipeline.auto_recipe(MEL_CONFIG).lbfgs_iters
  assert refined.spectral_convergence_db < gl_only.spectral_convergence_db - 8.0


def test_custom_forward_function():
  """A user transform (|tf.signal.stft| with its own framing and a tilt) drives L-BFGS."""
  y = _clip(2.0)
  tilt = tf.linspace(1.0, 3.0, 257)

  def forward(x):
    spec = tf.signal.stft(x, frame_length=400, frame_step=100, fft_length=512)
    return tf.abs(spec) * tilt

  target = forward(tf.constant(y[None], tf.float32))
  seed = _magnitude(y)  # Griffin-Lim starts from the library's own magnitude.
  waveform, result = tfspecinv.reconstruct(seed, STFT_CONFIG, forward_fn=forward, target=target,
                                           lbfgs_iters=100, length=len(y))
  error = lambda w: float(tf.norm(forward(tf.constant(w[None], tf.float32)) - target) /
                          tf.norm(target))
  gl_only, _ = tfspecinv.reconstruct(seed, STFT_CONFIG, method="griffin_lim", length=len(y))
  losses = [loss for stage, _, loss in result.loss_history if stage == "lbfgs"]
  assert losses[-1] < 0.5 * losses[0]
  assert error(waveform) < 0.5 * error(gl_only)


def test_batch_of_three_equals_three_single_calls():
  batch = np.stack([_magnitude(_clip(offset)) for offset in (0.0, 1.0, 2.0)])
  waveforms, result = tfspecinv.reconstruct(batch, STFT_CONFIG, lbfgs_iters=20)
  assert waveforms.shape[0] == 3 and result.spectral_convergence_db.shape == (3,)
  for index in range(3):
    single, single_result = tfspecinv.reconstruct(batch[index], STFT_CONFIG, lbfgs_iters=20)
    scale = np.abs(single).max()
    np.testing.assert_allclose(waveforms[index], single, atol=1e-2 * scale)
    assert abs(result.spectral_convergence_db[index] -
               single_result.spectral_convergence_db) < 0.1


def test_leading_batch_shape_is_kept():
  mags = np.stack([_magnitude(_clip(offset, 0.5)) for offset in (0.0, 1.0, 2.0, 3.0)])
  waveforms, result = tfspecinv.reconstruct(mags.reshape((2, 2) + mags.shape[1:]), STFT_CONFIG,
                                            method="griffin_lim", gl_iters=4)
  assert waveforms.shape[:2] == (2, 2)
  assert result.spectral_convergence_db.shape == (2, 2)


def test_time_budget_is_honoured():
  target = _magnitude(_clip())
  # Compile outside the budget: the budget's run (no iteration cap) takes the XLA loop.
  tfspecinv.reconstruct(target, STFT_CONFIG, gl_iters=10, lbfgs_iters=2, jit_compile=True)
  budget = 1.5
  _, result = tfspecinv.reconstruct(target, STFT_CONFIG, gl_iters=10, lbfgs_iters=100000,
                                    time_budget=budget)
  assert result.stop_reason == "time_budget"
  assert result.lbfgs_iterations > 0
  # Chunks stop before they would overrun; allow one chunk of slack on a busy machine.
  # The first compiled call of each stage is outside the budget (reported).
  assert result.seconds - result.stage_seconds["compile"] < budget + 1.0


def test_short_budgets_keep_lbfgs_out_of_the_xla_loop():
  """Its compilation (seconds) would be outside the budget and longer than the budget."""
  assert not pipeline.lbfgs_uses_xla(None, 10**6, True, time_budget=5.0)
  assert pipeline.lbfgs_uses_xla(None, 10**6, True, time_budget=pipeline.LBFGS_XLA_MIN_BUDGET)
  assert pipeline.lbfgs_uses_xla(True, 10, True, time_budget=5.0)
  assert pipeline.lbfgs_uses_xla(None, 350, True)


def test_no_retracing_for_same_and_new_shapes():
  engine = pipeline.engine_for(STFT_CONFIG, tf.float32)
  tfspecinv.reconstruct(_magnitude(_clip()), STFT_CONFIG, lbfgs_iters=3)
  _, runner = engine.waveform_runner("mixed", 0.5)
  counts = (engine.griffin_lim.trace_count, runner.trace_count)
  tfspecinv.reconstruct(_magnitude(_clip(1.0)), STFT_CONFIG, lbfgs_iters=3)
  tfspecinv.reconstruct(np.stack([_magnitude(_clip(1.0, 0.7))] * 2), STFT_CONFIG, lbfgs_iters=3)
  assert (engine.griffin_lim.trace_count, runner.trace_count) == counts


def test_long_griffin_lim_runs_use_the_xla_loop_without_retracing():
  engine = pipeline.engine_for(STFT_CONFIG, tf.float32)
  before = engine.griffin_lim_xla.trace_count
  for seconds in (0.5, 0.6):
    _, result = tfspecinv.reconstruct(_magnitude(_clip(seconds)), STFT_CONFIG,
                                      method="griffin_lim", gl_iters=phase.XLA_MIN_ITERATIONS)
    assert result.gl_iterations == phase.XLA_MIN_ITERATIONS
  assert engine.griffin_lim_xla.trace_count - before <= 1


def test_lbfgs_objective_is_a_separate_function():
  """TFP calls the objective from several places; inlining it made Grappler's first pass 2x slower."""
  _, runner = pipeline.engine_for(STFT_CONFIG, tf.float32).waveform_runner("mixed", 0.5)
  concrete = runner._objective.get_concrete_function()  # pylint: disable=protected-access
  assert concrete.function_def.attr["_noinline"].b
  # Built-in losses are compiled with XLA; a custom forward model keeps the executor.
  assert concrete.function_def.attr["_XlaMustCompile"].b
  custom = lambda x: tf.abs(tfspecinv.stft(x, STFT_CONFIG))
  _, custom_runner = pipeline.engine_for(STFT_CONFIG, tf.float32).waveform_runner(
      "mixed", 0.5, custom)
  custom_def = custom_runner._objective.get_concrete_function().function_def  # pylint: disable=protected-access
  assert not custom_def.attr["_XlaMustCompile"].b


def test_without_grappler_is_scoped_to_the_block():
  from tensorflow.core.protobuf import config_pb2  # pylint: disable=import-outside-toplevel
  from tensorflow.python.eager import context  # pylint: disable=import-outside-toplevel
  from tfspecinv import optimize  # pylint: disable=import-outside-toplevel

  def meta_optimizer_disabled():
    config = config_pb2.ConfigProto()
    config.ParseFromString(context.context().function_call_options.config_proto_serialized)
    return config.graph_options.rewrite_options.disable_meta_optimizer

  assert not meta_optimizer_disabled()
  with optimize._without_grappler():  # pylint: disable=protected-access
    assert meta_optimizer_disabled()
  assert not meta_optimizer_disabled()


def test_progress_callback_reports_each_stage():
  seen = []
  tfspecinv.reconstruct(_magnitude(_clip()), STFT_CONFIG, gl_iters=32, lbfgs_iters=20,
                        progress=seen.append)
  stages = {p.stage for p in seen}
  assert stages == {"griffin_lim", "lbfgs"}
  assert seen[-1].iteration == seen[-1].total == 20
  assert all(p.elapsed >= 0 for p in seen)
  assert all(np.isfinite(p.loss) for p in seen)


def test_interrupt_returns_best_so_far():
  target = _mel(_clip())

  def interrupt(progress):
    if progress.stage == "lbfgs" and progress.iteration >= 20:
      raise KeyboardInterrupt

  waveform, result = tfspecinv.reconstruct(target, MEL_CONFIG, lbfgs_iters=1000,
                                           progress=interrupt)
  assert result.stop_reason == "interrupted"
  assert 20 <= result.lbfgs_iterations < 1000
  assert np.all(np.isfinite(waveform))
  _, gl_only = tfspecinv.reconstruct(target, MEL_CONFIG, method="griffin_lim")
  assert result.spectral_convergence_db < gl_only.spectral_convergence_db


def test_uncapped_run_without_a_budget_reports_unknown_time_left():
  """lbfgs_iters of a million (no budget): progress says 'unknown', Ctrl-C still ends it."""
  seen = []

  def interrupt(progress):
    seen.append(progress)
    if progress.stage == "lbfgs" and len([p for p in seen if p.stage == "lbfgs"]) >= 3:
      raise KeyboardInterrupt

  _, result = tfspecinv.reconstruct(_mel(_clip()), MEL_CONFIG, lbfgs_iters=1_000_000,
                                    progress=interrupt)
  lbfgs = [p for p in seen if p.stage == "lbfgs"]
  assert result.stop_reason == "interrupted" and len(lbfgs) == 3
  assert all(p.total is None and p.remaining is None for p in lbfgs)


@pytest.mark.parametrize("scale", ["db", "log", "log1p"])
def test_log_scaled_mel_inputs(scale):
  y = _clip()
  config = MEL_CONFIG.replace(scale=scale, top_db=None)
  scaled = tfspecinv.scale_amplitude(tf.constant(_mel(y)), config).numpy()
  waveform, result = tfspecinv.reconstruct(scaled, config, lbfgs_iters=100, length=len(y))
  assert _sc_db(_mel(waveform.astype(np.float64)), _mel(y)) < -30.0


@pytest.mark.parametrize("lifter", [0.0, 22.0])
def test_mfcc_input_is_inverted_through_the_forward_model(lifter):
  y = _clip()
  config = MEL_CONFIG.replace(representation="mfcc", scale="db", n_mfcc=40, lifter=lifter)
  mfcc = librosa.feature.mfcc(S=librosa.power_to_db(_mel(y)), n_mfcc=40, lifter=lifter)
  waveform, result = tfspecinv.reconstruct(mfcc, config, length=len(y))
  assert result.domain == "native"
  rebuilt = librosa.feature.mfcc(S=librosa.power_to_db(_mel(waveform.astype(np.float64))),
                                 n_mfcc=40, lifter=lifter)
  assert _sc_db(rebuilt, mfcc) < -20.0


def test_silence_gives_silence():
  waveform, result = tfspecinv.reconstruct(np.zeros((257, 40)), STFT_CONFIG, lbfgs_iters=5)
  assert np.all(waveform == 0.0)


def test_huge_values_give_a_finite_waveform():
  target = _magnitude(_clip()) * 1e30
  waveform, result = tfspecinv.reconstruct(target, STFT_CONFIG, lbfgs_iters=5)
  assert np.all(np.isfinite(waveform))
  assert result.spectral_convergence_db < -15.0


def test_float64_on_request():
  target = _magnitude(_clip(0.0, 0.5))
  waveform, _ = tfspecinv.reconstruct(target, STFT_CONFIG, lbfgs_iters=5, dtype=tf.float64)
  assert waveform.dtype == np.float64


@pytest.mark.parametrize("bad, message", [
    (np.full((257, 10), np.nan), "NaN"),
    (-np.ones((257, 10)), "negative"),
    (np.ones((300, 10)), "n_fft=598"),
    (np.ones((10, 257)), "layout"),
    (np.ones(257), "at least 2 dimensions"),
    (np.ones((257, 0)), "empty"),
    (np.ones((257, 10), np.complex64), "complex"),
])
def test_bad_input_is_a_clear_error(bad, message):
  with pytest.raises(SpecInvError, match=message):
    tfspecinv.reconstruct(bad, STFT_CONFIG)


def test_length_must_match_frames():
  with pytest.raises(SpecInvError, match="length=100"):
    tfspecinv.reconstruct(np.ones((257, 40)), STFT_CONFIG, length=100)


@pytest.mark.parametrize("argument", [dict(method="magic"), dict(domain="cubic"),
                                      dict(gl_iters=-1), dict(time_budget=0.0),
                                      dict(init="heap")])
def test_bad_arguments(argument):
  with pytest.raises(SpecInvError):
    tfspecinv.reconstruct(np.ones((257, 40)), STFT_CONFIG, **argument)


def test_clipped_db_floor_is_treated_as_an_upper_bound():
  from tfspecinv import losses  # pylint: disable=import-outside-toplevel
  target = tf.constant([[[-40.0, -40.0, -10.0, 0.0]]])
  estimate = tf.constant([[[-60.0, -30.0, -12.0, 0.0]]])
  residual = losses.floor_aware_residual(estimate, target).numpy().ravel()
  # Below the floor costs nothing; above it, and anywhere else, the usual residual.
  np.testing.assert_allclose(residual, [0.0, 10.0, -2.0, 0.0])
  y = _clip()
  config = MEL_CONFIG.replace(scale="db", ref="max", top_db=40.0)
  clipped = librosa.power_to_db(_mel(y), ref=np.max, top_db=40.0)
  assert np.mean(clipped <= clipped.min() + 1e-3) > 0.1  # A real floor to respect.
  waveform, _ = tfspecinv.reconstruct(clipped, config, lbfgs_iters=100, length=len(y))
  rebuilt = librosa.power_to_db(_mel(waveform.astype(np.float64)), ref=np.max, top_db=40.0)
  assert _sc_db(rebuilt, clipped) < -30.0


def test_tf_signal_mfcc_is_inverted():
  """tf.signal's documented recipe: |stft| -> mel (HTK, in mel) -> log(+1e-6) -> MFCC."""
  y = _clip(0.5).astype(np.float32)
  config = tfspecinv.SpectrogramConfig.tf_signal(sample_rate=SR, n_fft=512, hop_length=128,
                                                 n_mels=64, fmin=80.0, fmax=7600.0,
                                                 representation="mfcc", scale="log", n_mfcc=40)

  def tf_mfcc(signal):
    stfts = tf.signal.stft(signal, frame_length=512, frame_step=128, fft_length=512)
    matrix = tf.signal.linear_to_mel_weight_matrix(64, 257, SR, 80.0, 7600.0)
    mel = tf.tensordot(tf.abs(stfts), matrix, 1)
    return tf.signal.mfccs_from_log_mel_spectrograms(tf.math.log(mel + 1e-6))[..., :40]

  target = tf_mfcc(tf.constant(y)).numpy()  # [frames, 40]: the tf.signal layout
  waveform, result = tfspecinv.reconstruct(target, config, lbfgs_iters=100, length=len(y))
  assert result.domain == "native"
  assert _sc_db(tf_mfcc(tf.constant(waveform)).numpy(), target) < -20.0
  assert abs(float(result.spectral_convergence_db) -
             _sc_db(tf_mfcc(tf.constant(waveform)).numpy(), target)) < 0.5


# ------------------------------------------------------------- method='auto'
@pytest.mark.parametrize("representation, budget, expected", [
    ("stft", None, ("lbfgs", 500, 50)),
    ("stft", 3.0, ("lbfgs", 1_000_000, 1_000_000)),
    ("mel", None, ("lbfgs", 32, 350)),
    ("mel", 3.0, ("lbfgs", 32, 1_000_000)),
    ("mfcc", None, ("lbfgs", 32, 350)),
])
def test_auto_recipe_per_representation(representation, budget, expected):
  config = tfspecinv.SpectrogramConfig.librosa(
      representation=representation, n_mels=40, n_mfcc=13,
      scale="db" if representation == "mfcc" else "linear")
  assert tuple(pipeline.auto_recipe(config, budget)) == expected
  assert pipeline.resolve_recipe("auto", None, None, config, budget) == expected


def test_resolve_recipe_keeps_explicit_counts_and_named_methods():
  config = tfspecinv.SpectrogramConfig.librosa(representation="stft")
  assert pipeline.resolve_recipe("auto", 7, None, config) == ("lbfgs", 7, 50)
  assert pipeline.resolve_recipe("joint", None, 3, config) == ("joint", 500, 3)
  # Griffin-Lim alone under a budget runs until the budget is spent.
  assert pipeline.resolve_recipe("griffin_lim", None, None, config, 1.0)[1] == 1_000_000
  with pytest.raises(SpecInvError, match="method='fast'"):
    pipeline.resolve_recipe("fast", None, None, config)
  with pytest.raises(SpecInvError, match="gl_iters=-1"):
    pipeline.resolve_recipe("auto", -1, None, config)


def test_griffin_lim_under_a_budget_spends_it(speech):
  audio, rate = speech
  config = tfspecinv.SpectrogramConfig.librosa(sample_rate=rate, n_fft=512, hop_length=128,
                                               representation="stft", power=1.0)
  magnitude = np.abs(librosa.stft(audio[:rate // 2], n_fft=512, hop_length=128))
  _, result = tfspecinv.reconstruct(magnitude.astype(np.float32), config,
                                    method="griffin_lim", time_budget=1.5)
  assert result.stop_reason == "time_budget" and result.gl_iterations > 32


def _click_train(samples):
  """Clicks on every hop: each centred frame is symmetric, so its STFT phase is zero."""
  y = np.zeros(samples)
  y[::STFT_CONFIG.hop_length] = 0.5
  return y


def test_combined_start_keeps_each_examples_better_start():
  """'pghi+zeros' runs both starts as one batch; each example continues from one of them."""
  samples = int(0.8 * SR)
  batch = np.stack([_magnitude(_clip(0.2, 0.8)), _magnitude(_click_train(samples))])
  kwargs = dict(method="griffin_lim", gl_iters=pipeline.SELECT_ITERATIONS + 40, length=samples,
                dtype=tf.float64)
  combined, result = tfspecinv.reconstruct(batch, STFT_CONFIG, init="pghi+zeros", **kwargs)
  assert result.init == "pghi+zeros" and result.gl_iterations == kwargs["gl_iters"]
  single = {init: tfspecinv.reconstruct(batch, STFT_CONFIG, init=init, **kwargs)[0]
            for init in ("pghi", "zeros")}
  chosen = []
  for example in range(2):
    scale = np.abs(combined[example]).max()
    same = [init for init, waveform in single.items()
            if np.abs(waveform[example] - combined[example]).max() <= 1e-6 * scale]
    assert len(same) == 1, same  # The run of exactly one start, continued after the selection.
    chosen.append(same[0])
    fit = {init: _sc_db(np.abs(librosa.stft(waveform[example], n_fft=512, hop_length=128)),
                        batch[example]) for init, waveform in single.items()}
    assert fit[same[0]] <= min(fit.values()) + 0.5, fit
  assert chosen[1] == "zeros"  # Clicks on every hop are zero-phase: that start is exact.


def test_linear_magnitudes_start_from_pghi_and_zeros_by_default():
  magnitude = _magnitude(_clip(0.0, 0.5)).astype(np.float32)
  _, linear = tfspecinv.reconstruct(magnitude, STFT_CONFIG, method="griffin_lim", gl_iters=10)
  _, mel = tfspecinv.reconstruct(_mel(_clip(0.0, 0.5)), MEL_CONFIG, method="griffin_lim",
                                 gl_iters=10)
  assert (linear.init, mel.init) == ("pghi+zeros", "pghi")
  with pytest.raises(SpecInvError, match="only in reconstruct"):
    pipeline.reconstruct_graph(tf.constant(magnitude.T[None]), STFT_CONFIG, init="pghi+zeros")


def test_interrupt_before_the_selection_keeps_the_better_start():
  magnitude = _magnitude(_clip(0.0, 1.0)).astype(np.float32)

  def interrupt(progress):
    raise KeyboardInterrupt  # After the first chunk.

  waveform, result = tfspecinv.reconstruct(magnitude, STFT_CONFIG, method="griffin_lim",
                                           gl_iters=1000, progress=interrupt)
  assert result.stop_reason == "interrupted" and result.gl_iterations < pipeline.SELECT_ITERATIONS
  assert waveform.shape == (STFT_CONFIG.num_samples(magnitude.shape[1]),)
  assert float(result.spectral_convergence_db) < -10.0

"""L-BFGS refinement with TensorFlow Probability, compiled once and run in chunks.

Two problems share one runner:

* `WaveformProblem`: variables are the waveform `[batch, samples]`; the loss
  compares `forward(x)` with the target in a chosen domain. `forward` is any
  differentiable function `[batch, samples] -> [batch, frames, features]`, so
  users can plug in their own transform.
* `JointStftProblem` (the design's joint variant): variables are the complex
  STFT `Y`; the loss is the STFT-consistency error
  `||stft(istft(Y)) - Y||^2` plus a weighted error of `|Y|` (through the mel
  filterbank when there is one) against the target.

`LbfgsRunner.start` evaluates the (compiled) objective once and builds TFP's
`LBfgsOptimizerResults`; `LbfgsRunner.run` continues it for more iterations
via `previous_optimizer_results`. The objective and the run are
`tf.function`s with `input_signature`s, so chunked runs (progress, time
budgets, Ctrl-C) and new input shapes never retrace.
"""

import contextlib
import importlib
import inspect
import threading
import typing
import warnings

import tensorflow as tf

from tfspecinv import xla_cache

# TensorFlow reads TF_XLA_FLAGS once, at the latest while TensorFlow
# Probability (and tf_keras) import: the compilation cache is named before.
xla_cache.enable()  # Opt-in: TFSPECINV_XLA_CACHE.

import tensorflow_probability as tfp  # noqa: E402  pylint: disable=wrong-import-position

from tfspecinv import cache
from tfspecinv import losses
from tfspecinv import mel as mel_lib
from tfspecinv import transforms
from tfspecinv.errors import SpecInvError


def _private_module(name):
  """A private TensorFlow / TFP module, or None where this version has none."""
  try:
    return importlib.import_module(name)
  except ImportError:  # pragma: no cover - other TF/TFP versions
    return None


# The module of `lbfgs_minimize` and its results' named tuple, wherever TFP keeps it.
tfp_lbfgs = importlib.import_module(tfp.optimizer.lbfgs_minimize.__module__)
# Private modules that the speed-ups below replace functions in or call; each
# target is checked before use (`_private_internals`): a changed one costs speed only.
config_pb2 = _private_module("tensorflow.core.protobuf.config_pb2")
tf_context = _private_module("tensorflow.python.eager.context")
tfp_bfgs_utils = _private_module("tensorflow_probability.python.optimizer.bfgs_utils")
tfp_hzl = _private_module("tensorflow_probability.python.optimizer.linesearch.internal."
                          "hager_zhang_lib")

__all__ = ["WaveformProblem", "JointStftProblem", "LbfgsRunner"]

# Correction pairs of the L-BFGS memory. TFP's bookkeeping per iteration grows
# with them; 5 fit as well in 200 iterations as 10, in less time
# (bench/results/lbfgs.md, "L-BFGS memory").
_NUM_CORRECTION_PAIRS = 5
# Weight of the term that keeps the bins below the lowest mel band near silent
# (`mel.undetermined_bin_weights`): on 4 corpus speech clips as TensorFlowTTS
# mels (fmin 80 Hz) median PESQ-WB 3.05 without it, 4.00 with 10; see
# bench/results/ttsstats.md.
UNDETERMINED_WEIGHT = 10.0
# The 'native' loss (MFCC and dB values, the MFCC default) is harder to
# condition: on the corpus's MFCCs at 350 iterations 7 pairs gave median SC
# -42.15 dB and PESQ-WB 1.70 against -42.14 / 1.62 with 5, for 11% more time
# (bench/results/auto.md has the default's figures).
_NATIVE_CORRECTION_PAIRS = 7


def correction_pairs(domain):
  """The L-BFGS memory (correction pairs) for a loss domain."""
  return _NATIVE_CORRECTION_PAIRS if domain == "native" else _NUM_CORRECTION_PAIRS


class WaveformProblem:
  """Loss on the waveform: `d(g(forward(x)), g(target))` per example.

  Args:
    config: A `SpectrogramConfig`.
    domain: One of `losses.DOMAINS`. 'native' compares the config's own
      representation (dB/log/MFCC) with a mean squared error; the other
      domains compare linear-domain values (`|X|^power`, through the mel
      filterbank for mel/MFCC configs) with a relative squared error.
    compression: Magnitude exponent for the 'compressed' domain.
    forward_fn: Optional custom differentiable forward model
      `[batch, samples] -> [batch, frames, features]`; the loss then compares
      its output directly (relative squared error).
  """

  def __init__(self, config, domain="compressed", compression=0.5, forward_fn=None):
    if domain not in losses.DOMAINS:
      raise SpecInvError(f"domain={domain!r} is not supported; use one of {losses.DOMAINS}.")
    self.config = config
    self.domain = domain
    self.compression = compression
    self.forward_fn = forward_fn
    self.mixed_weight = losses.MIXED_WEIGHT
    # Bins below the lowest mel band: kept near silent unless the bands need them.
    self.undetermined = None
    if config.representation == "mel" and domain == "mixed" and forward_fn is None:
      weights = mel_lib.undetermined_bin_weights(config)
      self.undetermined = weights if weights.any() else None

  def linear_forward(self, x):
    """Linear-domain values `[batch, frames, features]` for a waveform `[batch, samples]`."""
    config = self.config
    values = transforms.power_spectrogram_frames_bins(x, config)
    if config.representation != "stft":
      values = transforms.mel_frames_bins(values, config)
    return values

  def prepare_target(self, target):
    """The target in the loss domain; `target` is linear-domain (or native) values."""
    if self.forward_fn is not None or self.domain in ("native", "mixed"):
      return target
    reference = tf.reduce_max(target, axis=[-2, -1], keepdims=True)
    return losses.to_domain(target, self.config, self.domain, self.compression, reference)

  def loss(self, x, target, reference, mask=None):
    """Per-example loss `[batch]` for waveforms `x` and a prepared target.

    When the input's scale has a floor (dB clipped at `top_db`, logs floored
    at `amin`), target cells at that floor mean "at most this": only an
    estimate above them is penalised.

    Args:
      x: Waveforms `[batch, samples]`.
      target: `prepare_target`'s result `[batch, frames, features]`.
      reference: Per-example peak of the linear target `[batch, 1, 1]`.
      mask: Optional 0/1 weights `[1, frames, 1]`: frames where it is 0 (bucket
        padding, see `bucketed_loss`) count for nothing.
    """
    if self.forward_fn is not None:
      return losses.relative_squared_error(self.forward_fn(x), target)
    if self.domain == "native":
      # Relative to the target's energy, so dB/MFCC values of any size give a
      # well-scaled problem (the line search starts from a unit step).
      return self._relative(transforms.forward_frames_bins(x, self.config), target, mask)
    if self.undetermined is not None:
      bins = transforms.power_spectrogram_frames_bins(x, self.config)
      values = transforms.mel_frames_bins(bins, self.config)
      penalty = self._undetermined_penalty(bins, target, mask)
    else:
      values, penalty = self.linear_forward(x), 0.0
    if self.domain == "mixed":
      compress = lambda v: losses.to_domain(v, self.config, "compressed", self.compression,
                                            reference)
      return (self._relative(values, target, mask) + penalty +
              self.mixed_weight * self._relative(compress(values), compress(target), mask))
    estimate = losses.to_domain(values, self.config, self.domain, self.compression, reference)
    if self.domain == "log":
      squares = tf.square(self._residual(estimate, target, mask))
      if mask is None:
        return tf.reduce_mean(squares, axis=[-2, -1])
      cells = tf.reduce_sum(mask) * tf.cast(tf.shape(target)[-1], target.dtype)
      return tf.reduce_sum(squares * mask, axis=[-2, -1]) / cells
    return self._relative(estimate, target, mask)

  @property
  def bucketable(self):
    """Whether `bucketed_loss` equals `loss` on the real samples and frames (see `bucketable`)."""
    return bucketable(self.config, self.domain, self.forward_fn)

  def bucketed_loss(self, x, target, reference, length, num_frames):
    """`loss` of waveforms and targets padded up to a bucket's shape.

    XLA compiles once per shape; with the waveform padded to a bucket of
    frames (`phase.bucket_frames`), nearby lengths share one compilation.

    Args:
      x: `[batch, padded_samples]`; samples from `length` on are ignored
        (multiplied by 0, so their gradient is 0 and they stay as they are).
      target: `[batch, padded_frames, features]`, real frames first.
      reference: `[batch, 1, 1]`.
      length: int32 scalar, the real number of samples.
      num_frames: int32 scalar, the real number of frames.

    Returns:
      `[batch]`, equal to `loss(x[:, :length], target[:, :num_frames], reference)`.
    """
    samples = tf.range(tf.shape(x)[1])
    x = x * tf.cast(samples < length, x.dtype)[tf.newaxis]
    frames = tf.range(tf.shape(target)[1])
    mask = tf.cast(frames < num_frames, x.dtype)[tf.newaxis, :, tf.newaxis]
    return self.loss(x, target, reference, mask)

  def _residual(self, estimate, target, mask=None):
    clipped = self.config.clip_range is not None
    floored_input = self.config.scale in ("db", "log") or clipped
    if not floored_input or (self.domain == "native" and self.config.representation == "mfcc"):
      residual = estimate - target  # MFCCs mix all bands: no cell of theirs is a floor.
    else:
      # Values clipped to `clip_range` are bounds: at most the low one, at
      # least the high one (the target's extremes).
      residual = losses.floor_aware_residual(estimate, target, mask=mask, ceiling=clipped)
    return residual if mask is None else residual * mask

  def _undetermined_penalty(self, bins, target, mask=None):
    """`UNDETERMINED_WEIGHT * sum((u * bins)^2) / sum(target^2)` per example, `[batch]`.

    `u` is `mel.undetermined_bin_weights` `[n_bins]`; `bins` `[batch, frames,
    n_bins]` the estimate's `|X|^power`, `target` the linear mel values.
    """
    weights = tf.constant(self.undetermined, bins.dtype)
    weighted = bins * weights if mask is None else bins * weights * mask
    energy = tf.reduce_sum(tf.square(target if mask is None else target * mask), axis=[-2, -1])
    return UNDETERMINED_WEIGHT * tf.reduce_sum(tf.square(weighted), axis=[-2, -1]) / tf.maximum(
        energy, tf.constant(1e-30, target.dtype))

  def _relative(self, estimate, target, mask=None):
    residual = self._residual(estimate, target, mask)
    energy = tf.reduce_sum(tf.square(target if mask is None else target * mask), axis=[-2, -1])
    return tf.reduce_sum(tf.square(residual), axis=[-2, -1]) / tf.maximum(
        energy, tf.constant(1e-30, target.dtype))


def bucketable(config, domain, forward_fn=None):
  """Whether a waveform problem can be padded to a bucket of frames without changing it.

  True for the built-in linear-domain losses on zero-padded framings: the
  signal past its length is zero either way, and no loss term looks at the
  estimate beyond its own frame. Not for 'native' (dB and MFCC values depend
  on the estimate's maximum over all frames), reflect padding (it reads the
  signal's end) or a custom `forward_fn`.

  Args:
    config: A `SpectrogramConfig`.
    domain: The loss domain.
    forward_fn: The custom forward model, or None.

  Returns:
    bool.
  """
  return (forward_fn is None and domain != "native" and
          (config.padding == 0 or config.pad_mode == "constant"))


class JointStftProblem:
  """Loss on a complex STFT `Y` (stored as `[batch, 2 * frames * n_bins]` reals).

  `loss(Y) = ||P(Y) - Y||^2 / ||T||^2 + weight * ||g(A(|Y|)) - g(T)||^2 / ||g(T)||^2`,
  with `P` the consistency projection `stft(istft(.))`, `A` the mel filterbank
  (identity for linear spectrograms) applied to `|Y|^power`, `T` the linear
  target and `g` the compressed domain.
  """

  def __init__(self, config, weight=1.0, compression=0.5):
    self.config = config
    self.weight = weight
    self.compression = compression
    self.domain = "compressed"

  def unpack(self, position, num_frames):
    parts = tf.reshape(position, [tf.shape(position)[0], 2, num_frames, self.config.n_bins])
    return tf.complex(parts[:, 0], parts[:, 1])

  @staticmethod
  def pack(spec):
    stacked = tf.stack([tf.math.real(spec), tf.math.imag(spec)], axis=1)
    return tf.reshape(stacked, [tf.shape(spec)[0], -1])

  def loss(self, position, target, reference, length):
    config = self.config
    num_frames = tf.shape(target)[1] + int(config.drop_last_frame)  # STFT frames.
    spec = self.unpack(position, num_frames)
    weights = transforms.projection_weights(num_frames, length, config, target.dtype)
    consistent = transforms.project_consistent(spec, config, length, weights)
    energy = tf.reduce_sum(tf.square(tf.abs(spec)), axis=[-2, -1])
    inconsistency = tf.reduce_sum(tf.square(tf.abs(consistent - spec)), axis=[-2, -1])
    # Normalise by the energy of the consistent estimate's target magnitudes.
    values = transforms.magnitude_power(spec, config)
    if config.drop_last_frame:
      values = values[:, :-1]
    if config.representation != "stft":
      values = transforms.mel_frames_bins(values, config)
    estimate = losses.to_domain(values, config, "compressed", self.compression, reference)
    goal = losses.to_domain(target, config, "compressed", self.compression, reference)
    fit = losses.relative_squared_error(estimate, goal)
    return inconsistency / tf.maximum(energy, 1e-30) + self.weight * fit


class LbfgsRunner:
  """Compiled, resumable L-BFGS over a batch of independent problems.

  Args:
    loss_fn: `loss_fn(position [batch, n], *args) -> [batch]`, differentiable.
    arg_specs: List of `tf.TensorSpec`, one per extra tensor argument of
      `loss_fn` after the position (their number is the list's length).
    dtype: float32 or float64.
    jit_compile: Compile the loop with XLA.
    jit_objective: Compile the objective (value and gradient) alone with XLA,
      once per input shape: about 25% cheaper per evaluation on CPU.
    num_correction_pairs: The L-BFGS memory; default `_NUM_CORRECTION_PAIRS`
      (see `correction_pairs`). Part of the compiled signature.
  """

  def __init__(self, loss_fn, arg_specs, dtype=tf.float32, jit_compile=False,
               jit_objective=False, num_correction_pairs=None):
    self.loss_fn = loss_fn
    self.dtype = dtype
    self.pairs = int(num_correction_pairs or _NUM_CORRECTION_PAIRS)
    self.trace_count = 0
    self._traced = False
    position_spec = tf.TensorSpec([None, None], dtype)
    results_spec = _results_spec(dtype, self.pairs)
    # TFP's L-BFGS and its line search call the objective from several places;
    # as one compiled function it is traced once and called, not re-traced at
    # each call site (this cut the first call's tracing several-fold). Not
    # inlining it also means Grappler optimises its body once instead of at
    # every call site: the first L-BFGS call took 4.3 s instead of 8.5 s, with
    # the same per-evaluation time.
    self._objective = tf.function(self._value_and_gradient,
                                  input_signature=[position_spec] + arg_specs, autograph=False,
                                  experimental_attributes={"_noinline": True},
                                  jit_compile=jit_objective or None)
    self._run = tf.function(
        self.run_graph,
        input_signature=[results_spec, tf.TensorSpec([], tf.int32),
                         tf.TensorSpec([], dtype)] + arg_specs,
        jit_compile=jit_compile, autograph=False)

  def _value_and_gradient(self, position, *args):
    return tfp.math.value_and_gradient(lambda p: self.loss_fn(p, *args), position)

  def _value_and_gradients(self, args):
    return lambda position: self._objective(position, *args)

  def start_graph(self, position, *args):
    """The initial `LBfgsOptimizerResults` at `position`, as graph ops.

    Graph-safe (eager, inside a `tf.function`, under XLA): one evaluation
    of the objective, empty correction pairs. `start` is its eager twin.

    Args:
      position: float Tensor `[batch, n]` of the runner's dtype.
      *args: The loss's extra tensors (as `arg_specs`).

    Returns:
      `LBfgsOptimizerResults` (TFP's named tuple) with `num_iterations` 0.
    """
    value, gradient = self._value_and_gradients(args)(position)
    return self._initial_results(position, value, gradient)

  def _initial_results(self, position, value, gradient):
    batch = tf.shape(position)[0]
    empty = tf.zeros(tf.concat([[self.pairs], tf.shape(position)], 0), self.dtype)
    return tfp_lbfgs.LBfgsOptimizerResults(
        converged=tf.zeros([batch], tf.bool), failed=tf.zeros([batch], tf.bool),
        num_iterations=tf.constant(0), num_objective_evaluations=tf.constant(1),
        position=position, objective_value=value, objective_gradient=gradient,
        position_deltas=empty, gradient_deltas=empty)

  def run_graph(self, results, max_iterations, f_relative_tolerance, *args):
    """Continue `results` with TFP's `lbfgs_minimize`, as graph ops: the loop `run` compiles.

    Graph-safe (eager, inside a `tf.function`, under XLA with the runner's
    `jit_compile` or an outer `jit_compile=True` function).

    Args:
      results: `LBfgsOptimizerResults` (from `start_graph`, `start` or a
        previous run).
      max_iterations: int32 scalar: stop when `num_iterations` reaches it.
      f_relative_tolerance: float scalar Tensor of the runner's dtype; 0 to
        run all iterations.
      *args: The loss's extra tensors (as `arg_specs`).

    Returns:
      The continued `LBfgsOptimizerResults` (`converged`, `failed` `[batch]`).
    """
    self.trace_count += 1
    with _lean_tfp_internals():
      return tfp.optimizer.lbfgs_minimize(
          self._value_and_gradients(args), initial_position=None,
          previous_optimizer_results=results, max_iterations=max_iterations,
          tolerance=tf.constant(0.0, self.dtype), f_relative_tolerance=f_relative_tolerance,
          x_tolerance=tf.constant(0.0, self.dtype),
          num_correction_pairs=self.pairs, max_line_search_iterations=20)

  def start(self, position, *args):
    """Evaluate at `position` `[batch, n]`: the initial `LBfgsOptimizerResults`.

    Eager around the compiled objective: a compiled start of its own cost
    0.6 s of tracing and graph set-up on the first call, for a handful of
    cheap ops.
    """
    value, gradient = self._objective(position, *args)
    return self._initial_results(position, value, gradient)

  def run(self, results, until_iteration, f_relative_tolerance, *args):
    """Continue `results` until `num_iterations == until_iteration` (or convergence)."""
    if not self._traced:
      # Traced outside the block, so the objective's own calls keep Grappler's
      # optimisation; only the L-BFGS loop around them skips it.
      self._run.get_concrete_function()
      self._traced = True
    with _without_grappler():
      return self._run(results, tf.constant(int(until_iteration)),
                     tf.constant(f_relative_tolerance, self.dtype), *args)


def _unit_step_line_search(value_and_gradients_function, initial_step_size=None,
                           value_at_zero=None, converged=None, max_iterations=20,
                           sufficient_decrease_param=0.1, curvature_param=0.9,
                           threshold_use_approximate_wolfe_condition=1e-6, **unused):
  """A line search that takes the initial (unit) step when it is good, else bisects.

  Replaces TFP's Hager-Zhang search inside `lbfgs_minimize` (same arguments
  and `HagerZhangLineSearchResult`):

  * The initial step is accepted when it meets the Wolfe or approximate Wolfe
    conditions (TFP's own test, `hager_zhang_lib._satisfies_wolfe`), as Hager
    and Zhang's algorithm does first (step L0). TFP's `hager_zhang` always
    brackets and takes a secant step after it, so an L-BFGS iteration cost
    three objective evaluations where its scaled direction makes the unit
    step good: here it costs one (bench/results/lbfgs.md).
  * Otherwise a weak-Wolfe bisection (Lewis and Overton 2013): steps that
    raise the loss too much shrink the interval's top (first by 10x while no
    step has decreased it enough), steps whose slope is still steep raise its
    bottom (4x while the top is open). One evaluation per step; members of the
    batch that are done keep their point.

  Also smaller to trace than TFP's search: the first L-BFGS call of a process
  spent 0.9 s of its 1.2 s of tracing in `hager_zhang`.

  Returns:
    `HagerZhangLineSearchResult`: `converged` where a Wolfe point was found,
    `failed` elsewhere (then `left` is the best point with a sufficient
    decrease, or the start), `left == right` the accepted point.
  """
  del unused
  val_0 = value_at_zero
  delta = tf.cast(sufficient_decrease_param, val_0.f.dtype)
  sigma = tf.cast(curvature_param, val_0.f.dtype)
  f_lim = val_0.f + threshold_use_approximate_wolfe_condition * tf.abs(val_0.f)
  inactive = tf.zeros_like(val_0.f, tf.bool) if converged is None else converged
  valid = tfp_hzl.is_finite(val_0) & (val_0.df < 0)

  def classify(val):
    finite = tfp_hzl.is_finite(val)
    good = finite & tfp_hzl._satisfies_wolfe(val_0, val, f_lim, delta, sigma)  # pylint: disable=protected-access
    too_far = ~finite | (val.f > val_0.f + delta * val.x * val_0.df)
    return good, too_far

  step = tf.broadcast_to(tf.cast(initial_step_size, val_0.f.dtype), tf.shape(val_0.f))
  val = value_and_gradients_function(step)
  good, too_far = classify(val)
  done = inactive | ~valid | good
  zero = tf.zeros_like(step)
  infinity = tf.fill(tf.shape(step), tf.constant(float("inf"), step.dtype))
  lo = tf.where(~done & ~too_far, step, zero)
  hi = tf.where(~done & too_far, step, infinity)
  best = tfp_hzl.val_where(good | (~done & ~too_far), val, val_0)

  def next_step(lo, hi):
    open_top = tf.math.is_inf(hi)
    shrink = tf.where(lo > 0, 0.5 * (lo + hi), 0.1 * hi)
    return tf.where(open_top, 4.0 * lo, shrink)

  def body(i, lo, hi, done, best, evals):
    val = value_and_gradients_function(tf.where(done, best.x, next_step(lo, hi)))
    good, too_far = classify(val)
    good = good & ~done
    short = ~done & ~good & ~too_far
    lo = tf.where(short, val.x, lo)
    hi = tf.where(~done & ~good & too_far, val.x, hi)
    best = tfp_hzl.val_where(good | short, val, best)
    return i + 1, lo, hi, done | good, best, evals + 1

  _, _, _, done, best, evals = tf.while_loop(
      lambda i, lo, hi, done, *_: (i < max_iterations) & tf.reduce_any(~done), body,
      (tf.constant(0), lo, hi, done, best, tf.constant(1)))
  found = done & valid & ~inactive
  return _HZ_MODULE.HagerZhangLineSearchResult(
      converged=found | inactive, failed=~found & ~inactive, func_evals=evals,
      iterations=tf.zeros_like(evals), left=best, right=best)


def _two_loop_direction(state):
  """TFP's L-BFGS search direction (`lbfgs._get_search_direction`), unrolled.

  The same two-loop recursion over the same state (Nocedal and Wright,
  algorithm 7.4; oldest pair first in `position_deltas`), written as a Python
  loop over the static number of pairs instead of two `tf.scan`s. TFP's scans
  stack every intermediate direction (`[pairs, batch, n]` written twice per
  iteration) and run as a loop XLA cannot fuse across; unrolled, each pair
  is a few fused dot products and updates. The L-BFGS iteration got about
  25% cheaper (bench/results/lbfgs.md). Where the number of pairs is not
  static it is TFP's own function.

  Args:
    state: `LBfgsOptimizerResults`; `position_deltas`, `gradient_deltas`
      `[pairs, batch, n]`, `objective_gradient` `[batch, n]`.

  Returns:
    The direction `[batch, n]`: `-H g`, or `-g` before the first pair.
  """
  pairs = state.position_deltas.shape[0]
  if pairs is None:
    return _TFP_SEARCH_DIRECTION(state)
  s, y, gradient = state.position_deltas, state.gradient_deltas, state.objective_gradient

  def two_loop():
    inv_rhos = [tf.reduce_sum(y[i] * s[i], axis=-1) for i in range(pairs)]
    alphas = [None] * pairs
    q = gradient
    for i in reversed(range(pairs)):
      alphas[i] = tf.math.divide_no_nan(tf.reduce_sum(s[i] * q, axis=-1), inv_rhos[i])
      q = q - alphas[i][..., tf.newaxis] * y[i]
    gamma = inv_rhos[-1] / tf.reduce_sum(y[-1] * y[-1], axis=-1)
    r = gamma[..., tf.newaxis] * q
    for i in range(pairs):
      beta = tf.math.divide_no_nan(tf.reduce_sum(y[i] * r, axis=-1), inv_rhos[i])
      r = r + (alphas[i] - beta)[..., tf.newaxis] * s[i]
    return -r

  # TFP fills the queue from its end, so before `pairs` iterations the oldest
  # entries are zero and drop out (divide_no_nan), as in TFP's recursion.
  return tf.cond(tf.equal(state.num_iterations, 0), lambda: -gradient, two_loop)


@contextlib.contextmanager
def _lean_tfp_internals():
  """While TFP's L-BFGS is traced in this block, it uses this module's pieces.

  `tfp.optimizer.lbfgs_minimize` takes no line search or direction argument:
  its `bfgs_utils.line_search_step` calls the module's `hager_zhang` (here
  `_unit_step_line_search`) and its loop body calls
  `lbfgs._get_search_direction` (here `_two_loop_direction`). They are
  replaced for the duration of the trace (the graph keeps what was traced);
  the loop, its state and its convergence tests stay TFP's. A replacement
  whose target changed in the installed TFP is left out (`_private_internals`).
  """
  internals = _private_internals()
  patches = ([(tfp_bfgs_utils, "hager_zhang", _unit_step_line_search)]
             if internals.line_search else [])
  if internals.direction:
    patches.append((tfp_lbfgs, "_get_search_direction", _two_loop_direction))
  with _PATCH_LOCK:
    originals = [(module, name, getattr(module, name)) for module, name, _ in patches]
    for module, name, replacement in patches:
      setattr(module, name, replacement)
    try:
      yield
    finally:
      for module, name, original in originals:
        setattr(module, name, original)


_PATCH_LOCK = threading.RLock()
_TFP_SEARCH_DIRECTION = getattr(tfp_lbfgs, "_get_search_direction", None)
# The module (the package attribute of the same name is the function).
_HZ_MODULE = _private_module("tensorflow_probability.python.optimizer.linesearch.hager_zhang")


class PrivateInternals(typing.NamedTuple):
  """Which replacements of private TensorFlow / TFP pieces are in use.

  Each is True where its targets have the signatures (parameter names) and
  fields they were written against (TFP 0.25 and tfp-nightly 0.26, TF 2.21 and
  tf-nightly 2.23), False where something changed: then TFP's own piece runs
  (same results, slower) and one warning said so.
  """
  line_search: bool  # `_unit_step_line_search` for `bfgs_utils.hager_zhang`.
  direction: bool  # `_two_loop_direction` for `lbfgs._get_search_direction`.
  grappler: bool  # `_without_grappler`'s per-thread function call options.


_HAGER_ZHANG_PARAMETERS = (
    "value_and_gradients_function", "initial_step_size", "value_at_initial_step",
    "value_at_zero", "converged", "threshold_use_approximate_wolfe_condition",
    "shrinkage_param", "expansion_param", "sufficient_decrease_param", "curvature_param",
    "max_iterations", "name")
_LINE_SEARCH_RESULT_FIELDS = ("converged", "failed", "func_evals", "iterations", "left", "right")
_LBFGS_RESULT_FIELDS = ("converged", "failed", "num_iterations", "num_objective_evaluations",
                        "position", "objective_value", "objective_gradient", "position_deltas",
                        "gradient_deltas")


def _parameters(module, name):
  """The parameter names of `module.name` (a function or class), or None when there is none."""
  target = getattr(module, name, None) if module is not None else None
  if target is None:
    return None
  try:
    names = tuple(inspect.signature(target).parameters)
  except (TypeError, ValueError):  # pragma: no cover - not introspectable
    return None
  return names[1:] if inspect.isclass(target) and names[:1] == ("self",) else names


def _changes(expected):
  """`'module.name: found (...), expected (...)'` for each entry of `expected` that differs."""
  problems = []
  for (module, label, name), wanted in expected.items():
    found = _parameters(module, name)
    if found != wanted:
      shown = "missing" if found is None else f"({', '.join(found)})"
      problems.append(f"{label}.{name} is {shown}, expected ({', '.join(wanted)})")
  return problems


def _fields(cls):
  return tuple(getattr(cls, "_fields", ())) if cls is not None else None


@cache.cached(maxsize=1)  # Once per process (one entry): each warning at most once.
def _private_internals():
  """Checks each private target once per process; warns once for each one that changed.

  Returns:
    `PrivateInternals`: which replacements `_lean_tfp_internals` and
    `_without_grappler` apply.
  """
  line_search = _changes({
      (tfp_bfgs_utils, "bfgs_utils", "hager_zhang"): _HAGER_ZHANG_PARAMETERS,
      (tfp_hzl, "hager_zhang_lib", "_satisfies_wolfe"): (
          "val_0", "val_c", "f_lim", "sufficient_decrease_param", "curvature_param"),
      (tfp_hzl, "hager_zhang_lib", "is_finite"): ("val_1", "val_2"),
      (tfp_hzl, "hager_zhang_lib", "val_where"): ("cond", "tval", "fval")})
  result = _fields(getattr(_HZ_MODULE, "HagerZhangLineSearchResult", None))
  if result != _LINE_SEARCH_RESULT_FIELDS:
    line_search.append(f"hager_zhang.HagerZhangLineSearchResult has fields {result}, "
                       f"expected {_LINE_SEARCH_RESULT_FIELDS}")
  direction = _changes({(tfp_lbfgs, "lbfgs", "_get_search_direction"): ("state",)})
  if _fields(tfp_lbfgs.LBfgsOptimizerResults) != _LBFGS_RESULT_FIELDS:
    direction.append(f"lbfgs.LBfgsOptimizerResults has fields "
                     f"{_fields(tfp_lbfgs.LBfgsOptimizerResults)}, expected {_LBFGS_RESULT_FIELDS}")
  grappler = _changes({(tf_context, "context", "FunctionCallOptions"): (
      "executor_type", "config_proto")})
  options = getattr(getattr(tf_context, "Context", None), "function_call_options", None)
  if not isinstance(options, property):
    grappler.append("context.Context.function_call_options is not a property")
  try:
    config_pb2.ConfigProto().graph_options.rewrite_options.disable_meta_optimizer = True
  except AttributeError:
    grappler.append("config_pb2.ConfigProto has no graph_options.rewrite_options."
                    "disable_meta_optimizer")
  versions = f"tensorflow {tf.__version__}, tensorflow-probability {tfp.__version__}"
  fallbacks = (
      (line_search, "TFP's own Hager-Zhang line search (about 3 objective evaluations per "
                    "L-BFGS iteration instead of 1)"),
      (direction, "TFP's own two-loop recursion (tf.scan; about 25% more time per L-BFGS "
                  "iteration)"),
      (grappler, "Grappler's optimisation of the L-BFGS loop (2-3 s more start-up)"))
  for problems, fallback in fallbacks:
    if problems:
      warnings.warn(f"tfspecinv: a private TensorFlow/TFP function changed in {versions}: "
                    f"{'; '.join(problems)}. Results are unchanged; L-BFGS now uses {fallback}.",
                    RuntimeWarning, stacklevel=2)
  return PrivateInternals(not line_search, not direction, not grappler)


@contextlib.contextmanager
def _without_grappler():
  """Calls in this block (this thread only) skip Grappler's graph optimisation.

  Grappler optimises a function the first time it is called. For TFP's
  L-BFGS loop that took 2-3 s of start-up and bought nothing measurable: on
  three 6 s clips the time per evaluation was the same within the noise
  (+-4% between rounds) with and without it. Relies on TensorFlow's
  per-thread function call options; where they changed (`_private_internals`)
  it does nothing.
  """
  if not _private_internals().grappler:
    yield
    return
  try:
    ctx = tf_context.context()
    saved = ctx.function_call_options
    config = config_pb2.ConfigProto()
    config.ParseFromString(saved.config_proto_serialized)
    config.graph_options.rewrite_options.disable_meta_optimizer = True
    ctx.function_call_options = tf_context.FunctionCallOptions(saved.executor_type, config)
  except (AttributeError, TypeError, ValueError):  # pragma: no cover - other TF versions
    yield
    return
  try:
    yield
  finally:
    ctx.function_call_options = saved


def _results_spec(dtype, pairs):
  vector = tf.TensorSpec([None, None], dtype)
  queue = tf.TensorSpec([pairs, None, None], dtype)
  return tfp_lbfgs.LBfgsOptimizerResults(
      converged=tf.TensorSpec([None], tf.bool), failed=tf.TensorSpec([None], tf.bool),
      num_iterations=tf.TensorSpec([], tf.int32),
      num_objective_evaluations=tf.TensorSpec([], tf.int32), position=vector,
      objective_value=tf.TensorSpec([None], dtype), objective_gradient=vector,
      position_deltas=queue, gradient_deltas=queue)


# Checked at import: a warning about a changed target comes with the import.
_private_internals()

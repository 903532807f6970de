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

import tensorflow as tf
import tensorflow_probability as tfp
from tensorflow.core.protobuf import config_pb2
from tensorflow.python.eager import context as tf_context
from tensorflow_probability.python.optimizer import lbfgs as tfp_lbfgs

from tfspecinv import losses
from tfspecinv import transforms
from tfspecinv.errors import SpecInvError

__all__ = ["WaveformProblem", "JointStftProblem", "LbfgsRunner"]

_NUM_CORRECTION_PAIRS = 10


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

  def linear_forward(self, x):
    """Linear-domain values `[batch, frames, features]` for a waveform `[batch, samples]`."""
    config = self.config
    values = transforms._power_spectrogram_flat(x, config)
    if config.representation != "stft":
      values = transforms._mel_frames_bins(values, config)
    return values

  def prepare_target(self, target):
    """The target in the loss domain; `target` is linear-domain (or native) values."""
    if self.forward_fn is not None or self.domain in ("native", "mixed"):
      return target
    reference = tf.reduce_max(target, axis=[-2, -1], keepdims=True)
    return losses.to_domain(target, self.config, self.domain, self.compression, reference)

  def loss(self, x, target, reference):
    """Per-example loss `[batch]` for waveforms `x` and a prepared target.

    When the input's scale has a floor (dB clipped at `top_db`, logs floored
    at `amin`), target cells at that floor mean "at most this": only an
    estimate above them is penalised.
    """
    if self.forward_fn is not None:
      return losses.relative_squared_error(self.forward_fn(x), target)
    if self.domain == "native":
      # Relative to the target's energy, so dB/MFCC values of any size give a
      # well-scaled problem (the line search starts from a unit step).
      return self._relative(transforms.forward_frames_bins(x, self.config), target)
    values = self.linear_forward(x)
    if self.domain == "mixed":
      compress = lambda v: losses.to_domain(v, self.config, "compressed", self.compression,
                                            reference)
      return (self._relative(values, target) +
              self.mixed_weight * self._relative(compress(values), compress(target)))
    estimate = losses.to_domain(values, self.config, self.domain, self.compression, reference)
    if self.domain == "log":
      return tf.reduce_mean(tf.square(self._residual(estimate, target)), axis=[-2, -1])
    return self._relative(estimate, target)

  def _residual(self, estimate, target):
    floored_input = self.config.scale in ("db", "log")
    if not floored_input or (self.domain == "native" and self.config.representation == "mfcc"):
      return estimate - target  # MFCCs mix all bands: no cell of theirs is a floor.
    return losses.floor_aware_residual(estimate, target)

  def _relative(self, estimate, target):
    residual = self._residual(estimate, target)
    energy = tf.reduce_sum(tf.square(target), axis=[-2, -1])
    return tf.reduce_sum(tf.square(residual), axis=[-2, -1]) / tf.maximum(
        energy, tf.constant(1e-30, target.dtype))


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
    values = transforms._magnitude_power(spec, config)
    if config.drop_last_frame:
      values = values[:, :-1]
    if config.representation != "stft":
      values = transforms._mel_frames_bins(values, config)
    estimate = losses.to_domain(values, config, "compressed", self.compression, reference)
    goal = losses.to_domain(target, config, "compressed", self.compression, reference)
    fit = losses.relative_squared_error(estimate, goal)
    return inconsistency / tf.maximum(energy, 1e-30) + self.weight * fit


class LbfgsRunner:
  """Compiled, resumable L-BFGS over a batch of independent problems.

  Args:
    loss_fn: `loss_fn(position [batch, n], *args) -> [batch]`, differentiable.
    num_args: Number of extra tensor arguments after the position, with
      their `tf.TensorSpec`s in `arg_specs`.
    arg_specs: List of `tf.TensorSpec` for those arguments.
    dtype: float32 or float64.
    jit_compile: Compile the loop with XLA.
    jit_objective: Compile the objective (value and gradient) alone with XLA,
      once per input shape: about 25% cheaper per evaluation on CPU.
  """

  def __init__(self, loss_fn, arg_specs, dtype=tf.float32, jit_compile=False,
               jit_objective=False):
    self.loss_fn = loss_fn
    self.dtype = dtype
    self.trace_count = 0
    self._traced = False
    position_spec = tf.TensorSpec([None, None], dtype)
    results_spec = _results_spec(dtype)
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
        self._run_body,
        input_signature=[results_spec, tf.TensorSpec([], tf.int32),
                         tf.TensorSpec([], dtype)] + arg_specs,
        jit_compile=jit_compile, autograph=False)

  def _value_and_gradient(self, position, *args):
    return tfp.math.value_and_gradient(lambda p: self.loss_fn(p, *args), position)

  def _value_and_gradients(self, args):
    return lambda position: self._objective(position, *args)

  def _start_body(self, position, *args):
    """The initial `LBfgsOptimizerResults` (for graph-mode callers)."""
    value, gradient = self._value_and_gradients(args)(position)
    return self._initial_results(position, value, gradient)

  def _initial_results(self, position, value, gradient):
    batch = tf.shape(position)[0]
    empty = tf.zeros(tf.concat([[_NUM_CORRECTION_PAIRS], tf.shape(position)], 0), self.dtype)
    return tfp_lbfgs.LBfgsOptimizerResults(
        converged=tf.zeros([batch], tf.bool), failed=tf.zeros([batch], tf.bool),
        num_iterations=tf.constant(0), num_objective_evaluations=tf.constant(1),
        position=position, objective_value=value, objective_gradient=gradient,
        position_deltas=empty, gradient_deltas=empty)

  def _run_body(self, results, max_iterations, f_relative_tolerance, *args):
    self.trace_count += 1
    return tfp.optimizer.lbfgs_minimize(
        self._value_and_gradients(args), initial_position=None, previous_optimizer_results=results,
        max_iterations=max_iterations, tolerance=tf.constant(0.0, self.dtype),
        f_relative_tolerance=f_relative_tolerance, x_tolerance=tf.constant(0.0, self.dtype),
        num_correction_pairs=_NUM_CORRECTION_PAIRS, max_line_search_iterations=20)

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


@contextlib.contextmanager
def _without_grappler():
  """Calls in this block (this thread only) skip Grappler's graph optimisation.

  Grappler optimises a function the first time it is called. For TFP's
  L-BFGS loop that took 2-3 s of start-up and bought nothing measurable: on
  three 6 s clips the time per evaluation was the same within the noise
  (+-4% between rounds) with and without it. Relies on TensorFlow's
  per-thread function call options; where they are missing it does nothing.
  """
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


def _results_spec(dtype):
  vector = tf.TensorSpec([None, None], dtype)
  return tfp_lbfgs.LBfgsOptimizerResults(
      converged=tf.TensorSpec([None], tf.bool), failed=tf.TensorSpec([None], tf.bool),
      num_iterations=tf.TensorSpec([], tf.int32),
      num_objective_evaluations=tf.TensorSpec([], tf.int32), position=vector,
      objective_value=tf.TensorSpec([None], dtype), objective_gradient=vector,
      position_deltas=tf.TensorSpec([None, None, None], dtype),
      gradient_deltas=tf.TensorSpec([None, None, None], dtype))

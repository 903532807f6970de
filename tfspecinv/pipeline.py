"""`reconstruct`: any representation the config describes, back to a waveform.

The drivers of the stages in `stages` (each stage compiled once per config
and dtype):

1. `stages.prepare`: undo the amplitude scale (dB/log/log1p); MFCC ->
   log-mel by the least-squares inverse of the (liftered) DCT; mel ->
   linear magnitudes by non-negative least squares; peak normalisation.
2. Fast Griffin-Lim with momentum (warm start; `phase.GriffinLim`).
3. L-BFGS (TensorFlow Probability, `optimize.LbfgsRunner`) on the waveform
   against the given representation ('lbfgs', the default), or on the
   complex STFT with an STFT-consistency term ('joint').
4. `stages.finish`: the input's level back, silent inputs as zeros;
   `stages.undo_preemphasis` for pre-emphasised spectrograms.

`reconstruct` runs stages 2 and 3 eagerly in compiled chunks, so progress,
time budgets and Ctrl-C work without per-iteration Python;
`reconstruct_graph` runs all four as TensorFlow ops (graphs, Keras layers,
SavedModels, `tf.data`, XLA).

>>> cfg = SpectrogramConfig.librosa(sample_rate=22050, n_fft=1024, hop_length=256,
...                                 n_mels=80, fmax=8000.0, representation="mel")
>>> waveform, result = reconstruct(mel, cfg)          # mel: [80, frames] NumPy
>>> result.stop_reason, result.spectral_convergence_db
"""

import collections
import dataclasses
import time
from typing import Callable, Optional

import numpy as np
import tensorflow as tf

from tfspecinv import cache
from tfspecinv import phase as gl_lib
from tfspecinv import losses
from tfspecinv import optimize
from tfspecinv import pghi
from tfspecinv import scaling
from tfspecinv import stages
from tfspecinv import transforms
from tfspecinv import validation
from tfspecinv.errors import SpecInvError

__all__ = ["reconstruct", "reconstruct_graph", "ReconstructionResult", "Progress", "Engine",
           "METHODS", "Recipe", "RunOptions", "auto_recipe"]

METHODS = ("auto", "griffin_lim", "lbfgs", "joint")
INITS = ("auto", "pghi", "random", "zeros", "pghi+zeros")
# Starts Griffin-Lim runs side by side (as one batch) for a combined init; each
# example keeps the one whose consistent estimate fits best after
# `SELECT_ITERATIONS` iterations (or when the stage ends first). Zero phase
# starts slower and often ends better: at 200 iterations PGHI led on 10 of
# the corpus's 11 clips, at 500 zero phase on 4 (bench/results/starts.md).
_STARTS = {"pghi+zeros": ("pghi", "zeros")}
SELECT_ITERATIONS = 500

ReconstructionResult = collections.namedtuple("ReconstructionResult", [
    "method", "stop_reason", "gl_iterations", "lbfgs_iterations", "lbfgs_evaluations",
    "seconds", "stage_seconds", "loss_history", "spectral_convergence_db", "domain", "init",
])
ReconstructionResult.__doc__ = """What `reconstruct` did.

Fields:
  method: 'griffin_lim', 'lbfgs' or 'joint'.
  stop_reason: 'iterations' (caps reached), 'converged' (tolerance met),
    'stalled' (the line search found no further decrease), 'time_budget',
    'interrupted' (Ctrl-C: the best result so far was kept).
  gl_iterations, lbfgs_iterations, lbfgs_evaluations: work done.
  seconds: wall time of the whole call; stage_seconds: dict of wall seconds
    per stage ('prepare', 'griffin_lim', 'lbfgs'); under a `time_budget` also
    'compile': the part of the stages the budget did not count (their
    starts and first compiled calls: mostly tracing and XLA compilation on
    a shape's first call in a process, milliseconds after it).
  loss_history: list of (stage, iteration, mean loss) at chunk ends.
  spectral_convergence_db: NumPy `[...]` per example, of the given
    representation (linear domain for STFT/mel, the MFCCs for MFCC), in dB.
  domain: the loss domain L-BFGS used.
  init: the initial phase Griffin-Lim started from ('pghi', 'random',
    'zeros' or 'pghi+zeros'; what 'auto' chose).

Example:
  >>> waveform, result = reconstruct(mel, config)
  >>> result.method, result.stop_reason, float(result.spectral_convergence_db)
  ('lbfgs', 'iterations', -46.2)
"""

Recipe = collections.namedtuple("Recipe", ["method", "gl_iters", "lbfgs_iters"])
Recipe.__doc__ = """What `method='auto'` runs: a method and the iterations of each stage.

Fields:
  method: 'lbfgs' or 'griffin_lim'.
  gl_iters: Griffin-Lim iterations (int).
  lbfgs_iters: L-BFGS iterations (int).

Example:
  >>> auto_recipe(SpectrogramConfig.librosa(representation="mel"))
  Recipe(method='lbfgs', gl_iters=32, lbfgs_iters=350)
"""

# Iteration caps of a run that a time budget stops: the budget is what ends it.
_UNTIL_BUDGET = 1_000_000
# Linear magnitudes without a time budget: about librosa `griffinlim` (300
# iterations)'s wall time on a 2-core CPU (`python -m bench auto`, stft).
_LINEAR_GL_ITERS, _LINEAR_LBFGS_ITERS = 500, 50
_DEFAULT_GL_ITERS, _DEFAULT_LBFGS_ITERS = 32, 350
_MFCC_LBFGS_ITERS = 350


def auto_recipe(config, time_budget=None):
  """The recipe `method='auto'` runs for a representation and a time budget.

  * Linear STFT magnitudes (and spectrogram pictures, which are dB STFT
    magnitudes): Griffin-Lim from two starts side by side, PGHI and zero
    phase (`init='pghi+zeros'`; each example keeps the better after
    `SELECT_ITERATIONS`), then L-BFGS on the waveform: 500 + 50 iterations;
    with a `time_budget`, both until it runs out (Griffin-Lim gets 85% of it).
  * Mel: 32 Griffin-Lim iterations (a warm start from the NNLS magnitude
    estimate), then 350 L-BFGS iterations against the given representation
    (loss domain 'mixed'); with a `time_budget`, L-BFGS until it runs out.
  * MFCC: as mel, 32 + 350, with L-BFGS on the MFCCs themselves (domain
    'native', 7 correction pairs: `optimize.correction_pairs`).

  The recipes and counts are what won on the corpus at equal wall time;
  the figures (spectral convergence, PESQ, time against librosa) are in
  bench/results/auto.md (`python -m bench auto`), with starts.md, agla.md,
  figures.md and image.md for the choices behind them.

  Args:
    config: The `SpectrogramConfig` of the input (only its
      `representation` matters).
    time_budget: Seconds for the call, or None.

  Returns:
    A `Recipe(method, gl_iters, lbfgs_iters)`; counts of `_UNTIL_BUDGET`
    (1,000,000) mean "until the time budget ends it".

  Example:
    >>> auto_recipe(SpectrogramConfig.librosa(representation="stft"))
    Recipe(method='lbfgs', gl_iters=500, lbfgs_iters=50)
    >>> auto_recipe(SpectrogramConfig.librosa(representation="stft"), time_budget=5.0)
    Recipe(method='lbfgs', gl_iters=1000000, lbfgs_iters=1000000)
  """
  if config.representation == "stft":
    if time_budget is not None:
      return Recipe("lbfgs", _UNTIL_BUDGET, _UNTIL_BUDGET)
    return Recipe("lbfgs", _LINEAR_GL_ITERS, _LINEAR_LBFGS_ITERS)
  if time_budget is not None:
    return Recipe("lbfgs", _DEFAULT_GL_ITERS, _UNTIL_BUDGET)
  if config.representation == "mfcc":
    return Recipe("lbfgs", _DEFAULT_GL_ITERS, _MFCC_LBFGS_ITERS)
  return Recipe("lbfgs", _DEFAULT_GL_ITERS, _DEFAULT_LBFGS_ITERS)


def resolve_recipe(method, gl_iters, lbfgs_iters, config, time_budget=None):
  """`(method, gl_iters, lbfgs_iters)` with 'auto' and None counts filled in.

  Counts given explicitly are kept; `None` takes the counts of the
  representation's recipe, whichever method is named ('griffin_lim' under a
  time budget runs until the budget is spent).

  Raises:
    SpecInvError: for an unknown method or a negative / non-integer count.
  """
  if method not in METHODS:
    raise SpecInvError(f"method={method!r} is not supported; use one of {METHODS}.")
  recipe = auto_recipe(config, time_budget)
  if method == "griffin_lim" and time_budget is not None:
    recipe = Recipe(method, _UNTIL_BUDGET, 0)  # Griffin-Lim alone takes the whole budget.
  elif method != "auto":
    recipe = recipe._replace(method=method)
  gl_iters = recipe.gl_iters if gl_iters is None else gl_iters
  lbfgs_iters = recipe.lbfgs_iters if lbfgs_iters is None else lbfgs_iters
  for name, value in (("gl_iters", gl_iters), ("lbfgs_iters", lbfgs_iters)):
    if isinstance(value, bool) or int(value) != value or value < 0:
      raise SpecInvError(f"{name}={value!r} must be an integer >= 0.")
  return recipe.method, int(gl_iters), int(lbfgs_iters)


Progress = collections.namedtuple(
    "Progress", ["stage", "iteration", "total", "loss", "elapsed", "remaining"])
Progress.__doc__ = """Passed to the `progress` callback after each chunk.

Fields:
  stage: 'griffin_lim' or 'lbfgs' (also for method='joint'; 'block' in
    `reconstruct_long`).
  iteration: Iterations of the stage done so far (int).
  total: The stage's iteration count (None when only the time budget ends it).
  loss: Mean loss over the batch (float).
  elapsed: Seconds since the call started (float).
  remaining: Estimated seconds left in the whole call (None if unknown).

Example:
  >>> reconstruct(mel, config, progress=lambda p: print(p.stage, p.iteration, p.loss))
"""

_GL_CHUNK = 16
# Under a time budget, the share of it Griffin-Lim gets when L-BFGS follows. Linear
# magnitudes split it about as their defaults split their time: the 50 L-BFGS iterations
# after 500 Griffin-Lim took 0.69 s of 4.84 s on a 3 s clip, warm (bench/results/budget.md
# has budgeted runs against Griffin-Lim alone).
_GL_BUDGET_SHARE = 0.5
_LINEAR_GL_BUDGET_SHARE = 0.85
_LBFGS_CHUNK = 10
_CHUNK_SECONDS = 0.25  # Progress and Ctrl-C at least this often, chunks no shorter.
# XLA for the built-in L-BFGS objectives (not a custom forward_fn): 5% less L-BFGS time
# on the corpus, compilation per shape included.
_JIT_OBJECTIVE = True


class Engine:
  """The compiled pieces of the pipeline for one config and dtype.

  Args:
    config: A `SpectrogramConfig`.
    dtype: tf.float32 (default) or tf.float64.
  """

  def __init__(self, config, dtype=tf.float32):
    self.config = config
    self.dtype = dtype
    self.griffin_lim = gl_lib.GriffinLim(config)
    self.griffin_lim_xla = gl_lib.GriffinLim(config, jit_compile=True)
    self._runners = cache.BoundedCache(name="Engine runners")
    spec3 = tf.TensorSpec([None, None, None], dtype)
    self.linear_magnitude = tf.function(self._linear_magnitude,
                                        input_signature=[spec3, tf.TensorSpec([], tf.int32)],
                                        autograph=False)
    self.evaluate = tf.function(self._evaluate, autograph=False, input_signature=[
        tf.TensorSpec([None, None], dtype), tf.TensorSpec([None, None], dtype), spec3, spec3])

  # ----------------------------------------------------------- target side
  def _linear_magnitude(self, values, nnls_iterations):
    return stages.linear_magnitude(values, self.config, nnls_iterations)

  def _evaluate(self, normalised_signal, signal, native, normalised_linear):
    """Spectral convergence (dB) against the given representation, `[batch]`.

    MFCCs are compared as given (absolute `signal`); other representations in
    the linear domain at peak-normalised scale, which cannot overflow float32.
    """
    config = self.config
    if config.representation == "mfcc":
      return losses.spectral_convergence_db(transforms.forward_frames_bins(signal, config), native)
    problem = optimize.WaveformProblem(config, "linear")
    return losses.spectral_convergence_db(problem.linear_forward(normalised_signal),
                                          normalised_linear)

  # ------------------------------------------------------------- L-BFGS
  def waveform_runner(self, domain, compression, forward_fn=None, jit_compile=False):
    """`(problem, runner)` for L-BFGS on the waveform, built once per settings.

    With `jit_compile` and a bucketable problem (`WaveformProblem.bucketable`)
    the runner takes the bucketed loss: extra `length` and `num_frames`
    arguments after the target and reference.
    """
    def build():
      problem = optimize.WaveformProblem(self.config, domain, compression, forward_fn)
      specs = [tf.TensorSpec([None, None, None], self.dtype),
               tf.TensorSpec([None, 1, 1], self.dtype)]
      loss = problem.loss
      if jit_compile and problem.bucketable:
        specs += [tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32)]
        loss = problem.bucketed_loss
      runner = optimize.LbfgsRunner(loss, specs, self.dtype, jit_compile,
                                    jit_objective=_JIT_OBJECTIVE and forward_fn is None,
                                    num_correction_pairs=optimize.correction_pairs(domain))
      return problem, runner

    # A custom forward_fn is keyed on the function object (`cache.Identity`); a new
    # lambda per call builds (and traces) a new runner, and the bound drops old ones.
    return self._runners.get_or_create(cache.key(
        None, None, self.dtype, kind="waveform", domain=domain, compression=compression,
        forward_fn=cache.Identity(forward_fn), jit_compile=jit_compile), build)

  def joint_runner(self, weight, compression, jit_compile=False):
    def build():
      problem = optimize.JointStftProblem(self.config, weight, compression)
      specs = [tf.TensorSpec([None, None, None], self.dtype),
               tf.TensorSpec([None, 1, 1], self.dtype), tf.TensorSpec([], tf.int32)]
      return problem, optimize.LbfgsRunner(problem.loss, specs, self.dtype, jit_compile)

    return self._runners.get_or_create(cache.key(
        None, None, self.dtype, kind="joint", weight=weight, compression=compression,
        jit_compile=jit_compile), build)


# `linear_magnitude` lives with the other stages (`stages.linear_magnitude`).
linear_magnitude = stages.linear_magnitude


def reconstruct_graph(values, config, gl_iters=None, lbfgs_iters=None, nnls_iters=200,
                      domain="auto", compression=0.5, momentum=0.99, seed=0, init="auto",
                      method="auto"):
  """The whole pipeline as TensorFlow ops, for graphs, Keras layers and SavedModels.

  No Python runs per iteration or per call, so it can be traced into a
  `tf.function`, a `tf.data` map or a SavedModel; iteration counts are fixed
  (no time budget or progress; use `reconstruct` for those).

  Args:
    values: float Tensor `[batch, frames, features]` (internal layout) in
      `config.scale`.
    config: A `SpectrogramConfig`.
    gl_iters, lbfgs_iters, nnls_iters: Iterations per stage (int or int32
      Tensor); None for the recipe's (`auto_recipe` without a time budget).
    domain: Loss domain ('auto' as in `reconstruct`).
    compression: Magnitude exponent of the compressed term.
    momentum: Griffin-Lim momentum.
    seed: Seed of the random initial phase (Python int).
    init: Initial phase as in `reconstruct` ('auto', 'pghi', 'random', 'zeros');
      PGHI runs as graph ops (`pghi.pghi_phase_graph`).
    method: 'auto' (default, `auto_recipe`), 'lbfgs' or 'griffin_lim'
      ('joint' needs `reconstruct`).

  Returns:
    Tensor `[batch, samples]`, `samples = config.num_samples(frames)`.

  Raises:
    SpecInvError: for `method='joint'` or an unknown method.
  """
  if method == "joint":
    raise SpecInvError("method='joint' runs only in reconstruct (eagerly); use 'auto' or "
                       "'lbfgs' in graphs and layers.")
  if config.preemphasis:
    # Invert the emphasised signal the spectrogram describes, then undo the filter.
    emphasised = reconstruct_graph(values, config.replace(preemphasis=0.0), gl_iters,
                                   lbfgs_iters, nnls_iters, domain, compression, momentum, seed,
                                   init, method)
    return stages.undo_preemphasis(emphasised, config)
  if not isinstance(gl_iters, tf.Tensor) and not isinstance(lbfgs_iters, tf.Tensor):
    method, gl_iters, lbfgs_iters = resolve_recipe(method, gl_iters, lbfgs_iters, config)
  else:
    recipe = resolve_recipe(method, None, None, config)
    method = recipe[0]
    gl_iters = recipe[1] if gl_iters is None else gl_iters
    lbfgs_iters = recipe[2] if lbfgs_iters is None else lbfgs_iters
  if method == "griffin_lim":
    lbfgs_iters = 0
  dtype = values.dtype
  domain = stages.resolve_domain(domain, config)
  prepared = stages.prepare(values, config, nnls_iters)
  start = stages.griffin_lim(prepared.magnitude, config, gl_iters, momentum,
                             _resolve_init(init, config), seed)
  problem = optimize.WaveformProblem(config, domain, compression)
  position, args, normalised = stages.lbfgs_arguments(prepared, start.waveform, problem)
  lbfgs = optimize.LbfgsRunner(problem.loss, [tf.TensorSpec([None, None, None], dtype),
                                              tf.TensorSpec([None, 1, 1], dtype)], dtype)
  results = stages.lbfgs(lbfgs, position, args, lbfgs_iters)
  return stages.finish(results.position, prepared, normalised).waveform


@cache.cached()
def engine_for(config, dtype=tf.float32):
  """The shared `Engine` for a config and dtype (a bounded LRU cache, `tfspecinv.cache`)."""
  return Engine(config, tf.as_dtype(dtype))


# ---------------------------------------------------------------- inputs
def _validate(spectrogram, config, dtype):
  """Checked `[batch, frames, features]` tensor and the original batch shape."""
  if isinstance(spectrogram, tf.Tensor):
    array = spectrogram.numpy() if tf.executing_eagerly() else None
  else:
    array = np.asarray(spectrogram)
  if array is None:
    raise SpecInvError("reconstruct runs eagerly; call it outside tf.function.")
  validation.check_spectrogram(array, config)
  return stages.as_frames_bins(array, config, dtype)


# ------------------------------------------------------------------ main
class _Clock:
  """Elapsed time, budget and per-iteration estimates for chunk sizing."""

  def __init__(self, time_budget, start=None, excluded=None):
    self.start = time.perf_counter() if start is None else start
    self.budget = time_budget
    self._excluded = [0.0] if excluded is None else excluded  # Shared with `share`'s clocks.

  def share(self, fraction):
    """A clock with the same start, and exclusions, whose budget is `fraction` of this one's."""
    return _Clock(None if self.budget is None else self.budget * fraction, self.start,
                  self._excluded)

  def exclude(self, seconds):
    """Leave `seconds` (compilation) out of the time the budget counts."""
    self._excluded[0] += seconds

  def elapsed(self):
    """Wall seconds since the call started (exclusions included)."""
    return time.perf_counter() - self.start

  def left(self):
    if self.budget is None:
      return None
    return self.budget - (self.elapsed() - self._excluded[0])

  def chunk(self, default, remaining, seconds_per_iteration):
    """Iterations for the next compiled call: capped by the budget once a rate is known."""
    size = min(default, remaining)
    left = self.left()
    if left is not None:
      if left <= 0:
        return 0
      if seconds_per_iteration is None:
        return min(size, 1)  # Measure the rate on one iteration first.
      size = min(size, int(left / seconds_per_iteration))
    return max(size, 0)


def reconstruct(spectrogram, config, *, method="auto", gl_iters=None, lbfgs_iters=None,
                nnls_iters=200, domain="auto", compression=0.5, momentum=0.99,
                joint_weight=1.0, time_budget=None, tolerance=0.0, seed=0, init="auto",
                length=None, forward_fn=None, target=None, progress=None,
                jit_compile=None, dtype=tf.float32):
  """Waveform(s) whose representation under `config` matches `spectrogram`.

  Args:
    spectrogram: Array or eager Tensor `[..., features, frames]` (or
      `[..., frames, features]` with `config.layout='frames_bins'`): linear
      STFT magnitudes/powers, mel, or MFCC, in `config.scale`. Leading
      dimensions are a batch of equal-shaped inputs, reconstructed together.
    config: The `SpectrogramConfig` that made it.
    method: 'auto' (default: the recipe that won on the corpus for this
      representation and time budget, see `auto_recipe`: for linear
      magnitudes a long Griffin-Lim then L-BFGS, for mel and MFCC 32
      Griffin-Lim iterations then L-BFGS), 'lbfgs' (Griffin-Lim then L-BFGS
      on the waveform), 'joint' (L-BFGS on the complex STFT with a
      consistency term) or 'griffin_lim' (Griffin-Lim only).
    gl_iters: Griffin-Lim iterations; None: the recipe's (32 for mel/MFCC,
      500 for linear, unlimited under a `time_budget` for linear). From
      `phase.XLA_MIN_ITERATIONS` (200) on they run as one XLA loop, about 1.5x
      faster per iteration after a compilation per shape bucket.
    lbfgs_iters: L-BFGS iterations; None: the recipe's (350 for mel and MFCC,
      50 for linear; unlimited under a `time_budget`).
    nnls_iters: Projected-gradient steps of the mel -> linear NNLS.
    domain: L-BFGS loss domain: 'auto', 'linear', 'compressed', 'mixed', 'log'
      or 'native' ('auto': 'native' for MFCC, else 'mixed', which won on the
      corpus benchmark: see bench/README.md).
    compression: Magnitude exponent for the 'compressed' domain / 'joint'.
    momentum: Griffin-Lim momentum (0.99 as librosa).
    joint_weight: Weight of the magnitude term for 'joint'.
    time_budget: Seconds of iterations (None: no limit): Griffin-Lim and
      L-BFGS stop at the chunk that would overrun it. Griffin-Lim gets 85%
      of it for linear magnitudes when L-BFGS follows, else half. Not
      counted, because on a shape's first call in a process they are
      mostly tracing and XLA compilation (2-10 s on a busy 2-core CPU,
      milliseconds on later calls): the preparation
      (`stage_seconds['prepare']`), and each stage's start (PGHI, the first
      L-BFGS evaluation) and first compiled call (one iteration, which
      always runs; also the chunk in which a combined start selects, which
      compiles for the new batch shape), together
      `stage_seconds['compile']`. A call takes about `time_budget` plus
      those two, plus the final synthesis and scoring. Under a budget below
      `LBFGS_XLA_MIN_BUDGET` (60 s) L-BFGS stays in TensorFlow's executor
      (`lbfgs_uses_xla`), whose compilation is the shorter.
    tolerance: Stop L-BFGS when the relative loss change falls below this.
    seed: Seed of the random initial phase.
    init: Initial phase of Griffin-Lim: 'pghi' (phase-gradient heuristic
      integration of the magnitudes, Prusa et al. 2017), 'random', 'zeros',
      'pghi+zeros' (both starts side by side; after `SELECT_ITERATIONS`
      Griffin-Lim iterations each example keeps the one whose estimate fits
      better), or 'auto' (default: 'pghi+zeros' for linear magnitudes and
      'pghi' for mel and MFCC, with bell-shaped windows and hops up to 25 ms;
      else 'random'; see `pghi.auto_init`). Griffin-Lim on linear
      magnitudes ends in a different local fit from each start, and neither
      start is best on every clip: 500 iterations from PGHI gave a corpus
      median of -36.5 dB, from zero phase -38.3, the better of the two -38.8
      (random starts: -35.0 to -36.8).
    length: Output samples; default `config.num_samples(frames)`.
    forward_fn: Optional custom differentiable forward model
      `[batch, samples] -> [batch, frames, features]`; with it, `spectrogram`
      is compared directly with its output (give the Griffin-Lim start
      through `target`/the config's own representation). With
      `config.preemphasis` it receives the pre-emphasised signal.
    target: With `forward_fn`: the tensor its output should match,
      `[batch, frames, features]`; `spectrogram` then only seeds Griffin-Lim.
    progress: Optional callable receiving a `Progress` after each chunk.
    jit_compile: Run the whole L-BFGS loop as one XLA computation (True),
      in TensorFlow's executor with the objective alone compiled (False), or
      (None, default) XLA from `LBFGS_XLA_MIN_ITERATIONS` (100) iterations.
      The XLA loop pads the waveform to a bucket of frames (at most 1/8
      more) so nearby lengths share a compilation (kept on disk for later
      processes with the opt-in `xla_cache`). Griffin-Lim picks XLA by its iteration
      count (see `gl_iters`).
    dtype: tf.float32 (default) or tf.float64.

  Returns:
    `(waveform, result)`: NumPy `[..., length]` of `dtype`, and a
    `ReconstructionResult`.

  Raises:
    SpecInvError: for bad input (shape, NaN/Inf, negative magnitudes, feature
      count vs config, length) or arguments.

  Example:
    >>> config = SpectrogramConfig.librosa(sample_rate=22050, n_fft=1024, hop_length=256,
    ...                                    n_mels=80, fmax=8000.0, representation="mel")
    >>> waveform, result = reconstruct(mel, config)       # mel [80, F] -> [256 * (F - 1)]
    >>> waveform, result = reconstruct(mels, config, time_budget=10.0)   # a batch [B, 80, F]
  """
  if config.preemphasis:
    # The spectrogram is of the emphasised signal: invert that (the stages and
    # the reported fit see it), then de-emphasise, which restores the original
    # exactly (`emphasis`): its features equal the emphasised estimate's.
    waveform, result = reconstruct(
        spectrogram, config.replace(preemphasis=0.0), method=method, gl_iters=gl_iters,
        lbfgs_iters=lbfgs_iters, nnls_iters=nnls_iters, domain=domain, compression=compression,
        momentum=momentum, joint_weight=joint_weight, time_budget=time_budget,
        tolerance=tolerance, seed=seed, init=init, length=length, forward_fn=forward_fn,
        target=target, progress=progress, jit_compile=jit_compile, dtype=dtype)
    return stages.undo_preemphasis(tf.constant(waveform), config).numpy(), result
  clock = _Clock(time_budget)
  _check_arguments(domain, time_budget)
  method, gl_iters, lbfgs_iters = resolve_recipe(method, gl_iters, lbfgs_iters, config,
                                                 time_budget)
  init = _resolve_init(init, config, starts=True)
  native, batch_shape = _validate(spectrogram, config, dtype)
  length = stages.check_length(length, int(native.shape[1]), config)
  eng = engine_for(config, dtype)
  options = RunOptions(
      method=method, gl_iters=gl_iters, lbfgs_iters=lbfgs_iters, momentum=momentum, init=init,
      seed=seed, domain=stages.resolve_domain(domain, config), compression=float(compression), joint_weight=float(joint_weight),
      forward_fn=forward_fn, target=target, tolerance=float(tolerance),
      jit_compile=jit_compile, time_budget=time_budget, length=length)
  stage_seconds = {}
  history = []
  run = _RunState()

  def report(stage, iteration, total, loss):
    history.append((stage, iteration, float(loss)))
    total = None if total >= _UNTIL_BUDGET else total  # The budget ends it.
    if progress is not None:
      progress(Progress(stage, iteration, total, float(loss), clock.elapsed(),
                        _remaining(clock, stage, iteration, total, run)))

  t0 = clock.elapsed()
  linear, magnitude = eng.linear_magnitude(native, tf.constant(int(nnls_iters)))
  prepared = stages.normalise(native, linear, magnitude, config)
  stage_seconds["prepare"] = clock.elapsed() - t0
  clock.exclude(clock.elapsed())  # The budget counts the iterations (see `time_budget`).

  try:
    t0 = clock.elapsed()
    share = _LINEAR_GL_BUDGET_SHARE if config.representation == "stft" else _GL_BUDGET_SHARE
    gl_clock = clock if method == "griffin_lim" else clock.share(share)
    signal, normalised = _run_griffin_lim(eng, prepared, options, gl_clock, run, report), True
    if run.stop == "time_budget" and method != "griffin_lim":
      run.stop = "iterations"  # Griffin-Lim used its share; L-BFGS takes the rest.
    stage_seconds["griffin_lim"] = clock.elapsed() - t0
    if method != "griffin_lim" and run.stop == "iterations" and lbfgs_iters > 0:
      t0 = clock.elapsed()
      signal, normalised = _run_lbfgs(eng, prepared, options, signal, clock, run, report)
      stage_seconds["lbfgs"] = clock.elapsed() - t0
  except KeyboardInterrupt:
    if run.stage is None:
      raise
    run.stop = "interrupted"
    signal, normalised = run.stage.best()
  finished = stages.finish(signal, prepared, normalised)
  sc_db = eng.evaluate(finished.normalised, finished.waveform, native,
                       prepared.normalised_linear).numpy()
  if time_budget is not None:
    stage_seconds["compile"] = run.compile_seconds
  waveform = finished.waveform.numpy().reshape(tuple(batch_shape) + (length,))
  result = ReconstructionResult(
      method=method, stop_reason=run.stop, gl_iterations=run.gl_iterations,
      lbfgs_iterations=run.lbfgs_iterations, lbfgs_evaluations=run.lbfgs_evaluations,
      seconds=clock.elapsed(), stage_seconds=stage_seconds, loss_history=history,
      spectral_convergence_db=sc_db.reshape(tuple(batch_shape)), domain=run.domain, init=init)
  return waveform, result


@dataclasses.dataclass(frozen=True)
class RunOptions:
  """The settings of one `reconstruct` call, 'auto' resolved (frozen).

  Attributes:
    method: 'griffin_lim', 'lbfgs' or 'joint'.
    gl_iters, lbfgs_iters: Iteration caps (int).
    momentum: Griffin-Lim momentum.
    init: Initial phase ('pghi', 'random', 'zeros' or 'pghi+zeros').
    seed: Seed of the random phase.
    domain: The L-BFGS loss domain ('auto' resolved, `stages.resolve_domain`).
    compression: Magnitude exponent of the compressed terms.
    joint_weight: Weight of the magnitude term for 'joint'.
    forward_fn: Custom forward model or None.
    target: With `forward_fn`, what its output should match, or None.
    tolerance: L-BFGS relative loss-change tolerance.
    jit_compile: True, False or None (`lbfgs_uses_xla` chooses).
    time_budget: Seconds, or None.
    length: Output samples (int).
  """
  method: str
  gl_iters: int
  lbfgs_iters: int
  momentum: float
  init: str
  seed: int
  domain: str
  compression: float
  joint_weight: float
  forward_fn: Optional[Callable]
  target: object
  tolerance: float
  jit_compile: Optional[bool]
  time_budget: Optional[float]
  length: int


@dataclasses.dataclass
class _RunState:
  """Where a `reconstruct` call stands, shared by its stages.

  Attributes:
    stop: Why the last stage ended ('iterations', 'time_budget', ...).
    gl_iterations, lbfgs_iterations, lbfgs_evaluations: Work done.
    domain: The loss domain L-BFGS used (None before it starts).
    rates: Warm seconds per iteration by stage name, for progress estimates.
    stage: The stage in progress (`_GriffinLimStage` or `_LbfgsStage`),
      whose `best()` is the estimate Ctrl-C keeps; None before the first.
    compile_seconds: Under a time budget, the seconds of the stages' starts
      and first compiled calls, which the budget does not count
      (`_Clock.exclude`): `stage_seconds['compile']`.
    new_shape: Set by a chunk that changed the batch's shape (a combined
      start selected), whose compiled call compiled again: under a budget
      `_run_chunks` leaves that chunk out too.
  """
  stop: str = "iterations"
  gl_iterations: int = 0
  lbfgs_iterations: int = 0
  lbfgs_evaluations: int = 0
  domain: Optional[str] = None
  rates: dict = dataclasses.field(default_factory=dict)
  stage: Optional[object] = None
  compile_seconds: float = 0.0
  new_shape: bool = False


def _run_chunks(stage, step, iterations, chunk, clock, run, report):
  """Run a compiled stage in chunks: the loop both stages share.

  Each chunk is one compiled call `step(size) -> (advanced, loss)` that runs
  up to `size` iterations; between chunks the clock sizes the next one (from
  a warm rate: the first chunk includes tracing and compilation), progress is
  reported and `run.stage.best()` is current, so Ctrl-C and budgets cost no
  per-iteration Python.

  Args:
    stage: 'griffin_lim' or 'lbfgs' (for `report` and `run.rates`).
    step: Callable `size -> (iterations advanced, mean loss)`.
    iterations: Iterations wanted.
    chunk: Iterations per chunk without a budget.
    clock: The `_Clock` of the stage.
    run: The `_RunState` (its `rates` are updated).
    report: `report(stage, done, iterations, loss)`.

  Returns:
    'iterations' (all done), 'time_budget' or 'ended' (a chunk advanced less
    than asked: the stage converged or stalled). Under a budget the first
    chunk is one iteration, run even when no time is left, and its time is
    excluded from the budget (see `reconstruct`'s `time_budget`), as is a
    chunk that sets `run.new_shape` (it compiled for a new batch shape; at
    most one chunk's iterations, about `_CHUNK_SECONDS`, go uncounted).
  """
  done, rate = 0, None
  while done < iterations:
    size = clock.chunk(_chunk_size(chunk, rate), iterations - done, rate)
    if done == 0 and clock.budget is not None:
      size = 1  # The first call compiles: one iteration, outside the budget.
    if size == 0:
      return "time_budget"
    t0 = time.perf_counter()
    advanced, loss = step(size)
    seconds = time.perf_counter() - t0
    rate = seconds / max(advanced, 1)
    first_call, run.new_shape = done == 0 or run.new_shape, False
    if not first_call:
      run.rates[stage] = rate
    elif clock.budget is not None:
      # Tracing and XLA compilation (on a shape's first call in a process) are
      # not the budget's: the clock leaves the first call out. Chunks are sized
      # from a second, warm measurement.
      clock.exclude(seconds)
      run.compile_seconds += seconds
      rate = None
    done += advanced
    report(stage, done, iterations, loss)
    if advanced < size:
      return "ended"
  return "iterations"


def _chunk_size(minimum, seconds_per_iteration):
  """Iterations per chunk: `minimum`, or more once a rate says they take under `_CHUNK_SECONDS`.

  Each chunk is a compiled call plus a host round trip; on short clips, where
  an iteration takes a millisecond, ten-iteration chunks spent a tenth of the
  stage between chunks.
  """
  if not seconds_per_iteration:
    return minimum
  return max(minimum, int(_CHUNK_SECONDS / seconds_per_iteration))


def _remaining(clock, stage, iteration, total, run):
  rate = run.rates.get(stage)
  if not rate:
    return None
  left = clock.left()
  if total is None:  # Only a budget ends the stage (or nothing: unknown).
    return None if left is None else max(left, 0.0)
  estimate = rate * max(total - iteration, 0)
  return estimate if left is None else min(estimate, max(left, 0.0))


def _check_arguments(domain, time_budget):
  if domain != "auto" and domain not in losses.DOMAINS:
    raise SpecInvError(f"domain={domain!r} is not supported; use 'auto' or one of "
                       f"{losses.DOMAINS}.")
  if time_budget is not None and not time_budget > 0:
    raise SpecInvError(f"time_budget={time_budget!r} must be a positive number of seconds.")


def _resolve_init(init, config, starts=False):
  """What 'auto' means (checks `init`).

  'pghi' for bell-shaped windows, 'random' for window='ones'
  (`pghi.auto_init`); with `starts` (eager `reconstruct`, which can select
  between starts) 'pghi+zeros' for linear STFT magnitudes with a PGHI start.
  """
  if init not in INITS:
    raise SpecInvError(f"init={init!r} is not supported; use one of {INITS}.")
  if init == "auto":
    init = pghi.auto_init(config)
    if starts and init == "pghi" and config.representation == "stft":
      init = "pghi+zeros"
  if init in _STARTS and not starts:
    raise SpecInvError(f"init={init!r} runs only in reconstruct (it selects between starts "
                       "eagerly); use 'pghi' in graphs and layers.")
  return init


class _GriffinLimStage:
  """Griffin-Lim in compiled chunks from the initial phase(s) (eager `reconstruct`).

  A combined init ('pghi+zeros') runs its starts as one batch of
  `starts * batch` examples; after `SELECT_ITERATIONS` iterations (or at the
  end, or at Ctrl-C) each example keeps its best start (`_select_start`) and
  the rest of the stage runs on `batch` examples.

  Args:
    runner: The `phase.GriffinLim`.
    magnitude: `Prepared.magnitude`, `[batch, stft_frames, n_bins]`.
    options: The call's `RunOptions`.
  """

  def __init__(self, runner, magnitude, options):
    self.runner, self.magnitude, self.options = runner, magnitude, options
    self.starts = _STARTS.get(options.init, (options.init,))
    states = [runner.start(magnitude, init, options.seed) for init in self.starts]
    self.selecting = len(self.starts) > 1
    if self.selecting:
      self.tiled = tf.tile(magnitude, [len(self.starts), 1, 1])  # Start-major: [starts * batch].
      self.state = gl_lib.GriffinLimState(*(tf.concat(parts, 0) for parts in zip(*states)))
    else:
      self.tiled, self.state = magnitude, states[0]
    self.done = 0

  def selected(self):
    """The state of the best start per example (the state itself for one start)."""
    if not self.selecting:
      return self.state
    return _select_start(self.state, self.tiled, len(self.starts))

  def best(self):
    """`(waveform [batch, samples], normalised=True)`: the estimate so far."""
    return self.runner.waveform(self.magnitude, self.selected(), self.options.length), True

  def _advance(self, iterations):
    if iterations > 0:
      self.state = self.runner.run(self.tiled if self.selecting else self.magnitude, self.state,
                                   iterations, self.options.momentum, self.options.length)
      self.done += iterations

  def step(self, size, run):
    """Run `size` iterations: `(size, mean loss)` (a `_run_chunks` step)."""
    if self.done == 0 and self.options.time_budget is not None:
      # Trace the synthesis in the first call, which the budget leaves out,
      # rather than at the stage's end, where it would count.
      self.best()
    if self.selecting and self.done + size >= SELECT_ITERATIONS:
      first = SELECT_ITERATIONS - self.done
      self._advance(first)
      self.state, self.selecting = self.selected(), False
      run.new_shape = True  # One example per start from here: the loop compiles again.
      self._advance(size - first)
    else:
      self._advance(size)
    run.gl_iterations += size
    best = self.selected()
    return size, tf.reduce_mean(losses.spectral_convergence(tf.abs(best.rebuilt),
                                                            self.magnitude)).numpy()


def _run_griffin_lim(eng, prepared, options, clock, run, report):
  """Griffin-Lim from the initial phase: the waveform `[batch, samples]` (normalised)."""
  t0 = time.perf_counter()
  runner = eng.griffin_lim_xla if gl_lib.prefers_xla(options.gl_iters) else eng.griffin_lim
  stage = run.stage = _GriffinLimStage(runner, prepared.magnitude, options)
  if clock.budget is not None:  # The starts (PGHI): set-up, not iterations.
    seconds = time.perf_counter() - t0
    clock.exclude(seconds)
    run.compile_seconds += seconds
  ended = _run_chunks("griffin_lim", lambda size: stage.step(size, run), options.gl_iters,
                      _GL_CHUNK, clock, run, report)
  if ended == "time_budget":
    run.stop = ended
  return stage.best()[0]


def _select_start(state, magnitude, starts):
  """Per example, the start whose consistent estimate fits `magnitude` best.

  Args:
    state: `GriffinLimState` of `[starts * batch, frames, n_bins]` (start-major).
    magnitude: The tiled target `[starts * batch, frames, n_bins]`.
    starts: Number of starts.

  Returns:
    `GriffinLimState` of `[batch, frames, n_bins]`: for each example the
    angles and momentum state of the start with the lowest spectral
    convergence of `|rebuilt|` (the last consistent projection).
  """
  fit = losses.spectral_convergence(tf.abs(state.rebuilt), magnitude)  # [starts * batch]
  fit = tf.reshape(fit, [starts, -1])
  batch = tf.shape(fit)[1]
  index = tf.argmin(fit, axis=0, output_type=tf.int32) * batch + tf.range(batch)
  return gl_lib.GriffinLimState(*(tf.gather(part, index) for part in state))


def lbfgs_uses_xla(jit_compile, iterations, bucketable=True, time_budget=None):
  """Whether L-BFGS runs as one XLA loop: `jit_compile`, or None and many iterations.

  XLA halves TFP's per-iteration bookkeeping but compiles once per shape
  bucket (about 1.5 s on a 2-core CPU; kept across processes by the
  opt-in compilation cache, see `xla_cache`); from `LBFGS_XLA_MIN_ITERATIONS`
  iterations on, as in the defaults, it pays for itself. Problems that
  cannot be bucketed (`optimize.bucketable`) would compile once per exact
  length, so None keeps them in the executor. Under a `time_budget` of less
  than `LBFGS_XLA_MIN_BUDGET` seconds None means the executor: in a fresh
  process the XLA loop's compilation took 2-8 s on a 2-core CPU (the
  executor's tracing 1.5-3.5 s), longer than such a budget's L-BFGS share.

  Args:
    jit_compile: True, False or None (choose).
    iterations: The L-BFGS iteration cap.
    bucketable: Whether the problem can be padded to a bucket of frames.
    time_budget: Seconds of the call's budget, or None.

  Returns:
    bool.
  """
  if jit_compile is None:
    if time_budget is not None and time_budget < LBFGS_XLA_MIN_BUDGET:
      return False
    return bucketable and iterations >= LBFGS_XLA_MIN_ITERATIONS
  return bool(jit_compile)


LBFGS_XLA_MIN_ITERATIONS = 100
LBFGS_XLA_MIN_BUDGET = 60.0


class _LbfgsStage:
  """L-BFGS in compiled chunks (eager `reconstruct`).

  Args:
    runner: The `optimize.LbfgsRunner`.
    results: The initial `LBfgsOptimizerResults` (`runner.start`).
    args: The loss's extra tensors.
    to_waveform: `position -> waveform [batch, length]`.
    normalised: Whether that waveform is at peak magnitude 1.
    tolerance: Relative loss-change tolerance.
  """

  def __init__(self, runner, results, args, to_waveform, normalised, tolerance):
    self.runner, self.results, self.args = runner, results, args
    self.to_waveform, self.normalised, self.tolerance = to_waveform, normalised, tolerance

  def best(self):
    """`(waveform [batch, length], normalised)`: the estimate so far."""
    return self.to_waveform(self.results.position), self.normalised

  def step(self, size, run):
    """Run up to `size` iterations: `(advanced, mean loss)` (a `_run_chunks` step)."""
    previous = int(self.results.num_iterations)
    self.results = self.runner.run(self.results, previous + size, self.tolerance, *self.args)
    run.lbfgs_iterations = int(self.results.num_iterations)
    run.lbfgs_evaluations = int(self.results.num_objective_evaluations)
    loss = tf.reduce_mean(self.results.objective_value).numpy()
    return run.lbfgs_iterations - previous, loss


def _run_lbfgs(eng, prepared, options, signal, clock, run, report):
  """L-BFGS from the Griffin-Lim waveform: `(waveform [batch, samples], normalised)`."""
  t0 = time.perf_counter()
  position, args, to_waveform, runner, normalised = _lbfgs_problem(eng, prepared, options, signal)
  run.domain = "joint" if options.method == "joint" else options.domain
  results = runner.start(position, *args)
  if clock.budget is not None:  # One evaluation; on a shape's first call, compilation.
    seconds = time.perf_counter() - t0
    clock.exclude(seconds)
    run.compile_seconds += seconds
  stage = run.stage = _LbfgsStage(runner, results, args, to_waveform, normalised,
                                  options.tolerance)
  ended = _run_chunks("lbfgs", lambda size: stage.step(size, run), options.lbfgs_iters,
                      _LBFGS_CHUNK, clock, run, report)
  if ended == "ended":
    # TFP stops when every example converged, or when a line search failed
    # (no further decrease found: the position is still the best so far).
    run.stop = "stalled" if bool(tf.reduce_any(stage.results.failed)) else "converged"
  elif ended == "time_budget":
    run.stop = ended
  return stage.best()


def _lbfgs_problem(eng, prepared, options, signal):
  """`(position, args, to_waveform, runner, normalised)` of the L-BFGS stage.

  `to_waveform(position)` is the waveform `[batch, length]`; `normalised`
  says whether it is at peak magnitude 1 (else at the input's own level).
  """
  config, length, domain = eng.config, options.length, options.domain
  if options.method == "joint":
    problem, runner = eng.joint_runner(options.joint_weight, options.compression,
                                       bool(options.jit_compile))
    stft_frames = tf.shape(prepared.values)[1] + int(config.drop_last_frame)
    to_waveform = lambda p: transforms.istft_frames_bins(problem.unpack(p, stft_frames), config,
                                                         tf.constant(length))
    reference = tf.reduce_max(prepared.linear, axis=[1, 2], keepdims=True)
    args = (prepared.normalised_linear, tf.ones_like(reference), tf.constant(length))
    return (problem.pack(transforms.stft_frames_bins(signal, config)), args, to_waveform, runner,
            True)
  xla = lbfgs_uses_xla(options.jit_compile, options.lbfgs_iters,
                       optimize.bucketable(config, domain, options.forward_fn),
                       options.time_budget)
  problem, runner = eng.waveform_runner(domain, options.compression, options.forward_fn, xla)
  position, args, normalised = stages.lbfgs_arguments(prepared, signal, problem, options.target)
  to_waveform = lambda p: p
  if xla and problem.bucketable:
    position, args = stages.pad_to_bucket(position, args, config)
    to_waveform = lambda p: p[:, :length]
  return position, args, to_waveform, runner, normalised


def fit_db(waveform, spectrogram, config):
  """Spectral convergence (dB) of a waveform's representation against a spectrogram.

  The measure `ReconstructionResult.spectral_convergence_db` reports, for any
  waveform: e.g. a file as written, after level changes and quantisation.
  STFT and mel inputs are compared in the linear domain (`|X|^power`, through
  the filterbank), MFCCs as given; inputs whose absolute level was never
  stored (dB with `ref='max'`) are compared at the best-fitting gain.
  Computed in float64.

  Args:
    waveform: Array `[..., samples]` (`config.num_frames(samples)` must equal
      the spectrogram's frame count).
    spectrogram: Array `[..., features, frames]` (config layout), as given to
      `reconstruct`, with the same leading shape.
    config: The `SpectrogramConfig` that made `spectrogram`.

  Returns:
    float64 NumPy `[...]`: `20 log10(||F(waveform) - S|| / ||S||)` per example.

  Raises:
    SpecInvError: for a bad spectrogram or mismatched frame counts.

  Example:
    >>> written, _ = soundfile.read("out.wav")            # after levels and 16-bit PCM
    >>> float(fit_db(written, mel, config))                 # dB, lower is better
    -37.8
  """
  native, batch_shape = _validate(spectrogram, config, tf.float64)
  signal = tf.reshape(tf.constant(np.asarray(waveform, np.float64)), [native.shape[0], -1])
  frames = config.num_frames(int(signal.shape[1]))
  if frames != native.shape[1]:
    raise SpecInvError(f"the waveform has {signal.shape[1]} samples, which give {frames} frames; "
                       f"the spectrogram has {native.shape[1]}.")
  if config.representation == "mfcc":
    estimate, target = transforms.forward_frames_bins(signal, config), native
  else:
    estimate = optimize.WaveformProblem(config, "linear").linear_forward(signal)
    target = tf.nn.relu(scaling.unscale_amplitude(native, config, feature_axis=-1))
    if config.scale == "db" and config.ref == "max":
      gain = tf.reduce_sum(estimate * target, axis=[1, 2], keepdims=True) / tf.maximum(
          tf.reduce_sum(estimate * estimate, axis=[1, 2], keepdims=True), 1e-300)
      estimate = estimate * gain
  sc_db = losses.spectral_convergence_db(estimate, target).numpy()
  return sc_db.reshape(tuple(batch_shape))

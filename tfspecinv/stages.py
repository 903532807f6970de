"""The reconstruction stages, public and graph-safe: prepare, Griffin-Lim, L-BFGS, finish.

The three drivers are compositions of these stages:

* `pipeline.reconstruct` (eager): `prepare` (compiled `linear_magnitude`,
  then `normalise`), Griffin-Lim and L-BFGS in compiled chunks
  (`GriffinLim.run` and `LbfgsRunner.run` compile `GriffinLim.loop` and
  `LbfgsRunner.run_graph`) for budgets, progress and Ctrl-C, then `finish`.
* `pipeline.reconstruct_graph` (graph): `prepare`, `griffin_lim`, `lbfgs`,
  `finish`, as TensorFlow ops.
* `longform.reconstruct_long` (blocks): `normalise` per block, with its own
  L-BFGS loss that holds the committed context fixed.

Each stage is plain TensorFlow ops on a flat batch (`[batch, frames,
features]`), float32 or float64, and runs eagerly, inside a `tf.function`
and under `jit_compile=True`; results are named tuples (as TFP's optimizers
return). Python values (the config, the loss domain, iteration counts as
Python ints) are fixed when traced.

>>> prepared = prepare(values, config, 200)                # values [B, F, 80]
>>> start = griffin_lim(prepared.magnitude, config, 32)
>>> problem = optimize.WaveformProblem(config, resolve_domain("auto", config))
>>> position, args, normalised = lbfgs_arguments(prepared, start.waveform, problem)
>>> results = lbfgs(runner, position, args, 350)            # runner: optimize.LbfgsRunner
>>> waveform = finish(results.position, prepared, normalised=normalised).waveform
"""

import typing

import numpy as np
import tensorflow as tf

from tfspecinv import emphasis
from tfspecinv import layout
from tfspecinv import losses
from tfspecinv import mel as mel_lib
from tfspecinv import mfcc as mfcc_lib
from tfspecinv import phase as gl_lib
from tfspecinv import pghi
from tfspecinv import scaling
from tfspecinv import transforms
from tfspecinv.errors import SpecInvError

__all__ = [
    "Prepared", "prepare", "normalise", "linear_magnitude", "resolve_domain", "linear_scale",
    "GriffinLimResult", "griffin_lim", "lbfgs_arguments", "lbfgs", "pad_to_bucket",
    "Finished", "finish", "undo_preemphasis", "check_length", "as_frames_bins",
]


class Prepared(typing.NamedTuple):
  """The targets of one batch, at the level the stages work at (`prepare`).

  Fields:
    values: The given representation, `[batch, frames, features]` (native).
    linear: Its linear-domain values (`|X|^power`, through the filterbank for
      mel/MFCC), `[batch, frames, features]`, non-negative.
    magnitude: The |STFT| estimate divided by `scale`, `[batch, stft_frames,
      n_bins]` (peak 1; `stft_frames` is `frames + 1` with
      `config.drop_last_frame`).
    scale: Per-example peak of the estimate, `[batch, 1, 1]` (1 where silent).
    silent: bool `[batch, 1]`: the estimate is all zero (the output is zeros).
    normalised_linear: `linear / scale ** power`, `[batch, frames, features]`.

  All fields are Tensors, so a `tf.function` (XLA included) may return it.
  """
  values: tf.Tensor
  linear: tf.Tensor
  magnitude: tf.Tensor
  scale: tf.Tensor
  silent: tf.Tensor
  normalised_linear: tf.Tensor


class GriffinLimResult(typing.NamedTuple):
  """What `griffin_lim` returns.

  Fields:
    state: `phase.GriffinLimState` (complex `[batch, stft_frames, n_bins]` each).
    waveform: `istft(magnitude * angles)`, `[batch, samples]`, at the
      magnitude's (normalised) level.
  """
  state: gl_lib.GriffinLimState
  waveform: tf.Tensor


class Finished(typing.NamedTuple):
  """What `finish` returns.

  Fields:
    waveform: `[batch, samples]` at the input's level, zeros for silent inputs.
    normalised: `[batch, samples]` at peak-magnitude 1 (what the fit is
      scored on for STFT and mel).
  """
  waveform: tf.Tensor
  normalised: tf.Tensor


def resolve_domain(domain, config):
  """The loss domain 'auto' stands for: 'native' for MFCC, else 'mixed'.

  Args:
    domain: 'auto' or one of `losses.DOMAINS`.
    config: A `SpectrogramConfig`.

  Returns:
    str, one of `losses.DOMAINS`.

  Raises:
    SpecInvError: for an unknown domain.
  """
  if domain == "auto":
    return "native" if config.representation == "mfcc" else "mixed"
  if domain not in losses.DOMAINS:
    raise SpecInvError(f"domain={domain!r} is not supported; use 'auto' or one of "
                       f"{losses.DOMAINS}.")
  return domain


def linear_scale(scale, config):
  """The factor of linear values (`|X|^power`) for a magnitude factor `scale`."""
  return scale ** 2 if config.power == 2 else scale


def linear_magnitude(values, config, nnls_iterations):
  """Native values `[batch, frames, features]` -> (linear values, |STFT| estimate).

  Undoes the amplitude scale (and the DCT for MFCC, by least squares), then
  estimates linear magnitudes from a mel spectrogram by NNLS
  (`mel.nnls_frames_bins`).

  Args:
    values: float Tensor `[batch, frames, features]` in `config.scale`.
    config: A `SpectrogramConfig`.
    nnls_iterations: int32 scalar (Python int or Tensor): NNLS steps.

  Returns:
    `linear` `[batch, frames, features]` and `magnitude`
    `[batch, stft_frames, n_bins]`, with one frame more than `values` (a copy
    of the last) when `config.drop_last_frame`.
  """
  if config.representation == "mfcc":
    inverse = np.linalg.pinv(mfcc_lib.dct_matrix(config).T *
                             mfcc_lib.lifter_weights(config)[None, :])
    values = tf.linalg.matmul(values, tf.constant(inverse, values.dtype))
  linear = tf.nn.relu(scaling.unscale_amplitude(values, config, feature_axis=-1))
  if config.representation == "stft":
    bins = linear
  else:
    bins = mel_lib.nnls_frames_bins(linear, config, nnls_iterations)
  magnitude = tf.sqrt(bins) if config.power == 2 else bins
  if config.drop_last_frame:
    # The STFT had one more frame than was stored: repeat the last one, so that
    # Griffin-Lim works on the full STFT (L-BFGS compares stored frames only).
    magnitude = tf.concat([magnitude, magnitude[:, -1:]], axis=1)
  return linear, magnitude


def normalise(values, linear, magnitude, config):
  """`Prepared` from `linear_magnitude`'s results: peak-normalised targets.

  Args:
    values: The given representation `[batch, frames, features]`.
    linear, magnitude: `linear_magnitude(values, config, ...)`.
    config: A `SpectrogramConfig`.

  Returns:
    A `Prepared`.
  """
  peak = tf.reduce_max(magnitude, axis=[1, 2], keepdims=True)
  scale = tf.where(peak > 0, peak, tf.ones_like(peak))
  return Prepared(values=values, linear=linear, magnitude=magnitude / scale, scale=scale,
                  silent=tf.reshape(peak, [-1, 1]) <= 0,
                  normalised_linear=linear / linear_scale(scale, config))


def prepare(values, config, nnls_iterations=200):
  """The targets of a batch: `normalise(values, *linear_magnitude(values, ...))`.

  Layout and batch shape are the caller's (`as_frames_bins`); this undoes
  the scale (dB/log, MFCC -> mel by least squares, mel -> linear by NNLS)
  and normalises each example to peak magnitude 1. The loss domain is
  `resolve_domain`'s.

  Args:
    values: float32/float64 Tensor `[batch, frames, features]` in `config.scale`.
    config: A `SpectrogramConfig`.
    nnls_iterations: int32 scalar (Python int or Tensor): NNLS steps.

  Returns:
    A `Prepared`.
  """
  values = tf.convert_to_tensor(values)
  linear, magnitude = linear_magnitude(values, config, nnls_iterations)
  return normalise(values, linear, magnitude, config)


def griffin_lim(magnitude, config, iterations, momentum=0.99, init="pghi", seed=0, runner=None,
                length=-1):
  """Fast Griffin-Lim from an initial phase, as graph ops.

  Args:
    magnitude: float Tensor `[batch, stft_frames, n_bins]` (e.g.
      `Prepared.magnitude`).
    config: A `SpectrogramConfig`.
    iterations: int32 scalar (Python int or Tensor).
    momentum: float (or scalar Tensor), in [0, 1).
    init: 'pghi' (`pghi.pghi_phase_graph`), 'random' or 'zeros'.
    seed: Python int, the seed of the random phase.
    runner: A `phase.GriffinLim` for `config` (default: a new one without
      its own XLA loop; inside an outer `jit_compile` function the loop is
      compiled with it).
    length: int32 scalar: output samples (negative: the default).

  Returns:
    A `GriffinLimResult`.
  """
  runner = gl_lib.GriffinLim(config, jit_compile=False) if runner is None else runner
  dtype = magnitude.dtype
  length = tf.convert_to_tensor(length, tf.int32)
  if init == "pghi":
    state = runner.start(magnitude, "given", seed, pghi.pghi_phase_graph(magnitude, config,
                                                                        seed=seed))
  else:
    state = runner.start(magnitude, init, seed)
  angles, rebuilt = runner.loop(magnitude, state.angles, state.rebuilt,
                                tf.cast(iterations, tf.int32), tf.cast(momentum, dtype), length)
  magnitude_c = tf.complex(magnitude, tf.zeros_like(magnitude))
  waveform = transforms.istft_frames_bins(magnitude_c * angles, config, length)
  return GriffinLimResult(gl_lib.GriffinLimState(angles, rebuilt), waveform)


def lbfgs_arguments(prepared, signal, problem, target=None):
  """`(position, args, normalised)` of L-BFGS on the waveform from `signal`.

  Linear-domain losses run at peak magnitude 1 (well scaled in float32);
  'native' and a custom `forward_fn` at the input's own level.

  Args:
    prepared: A `Prepared`.
    signal: The start, `[batch, samples]` at the normalised level (e.g.
      `GriffinLimResult.waveform`).
    problem: An `optimize.WaveformProblem` (its domain from `resolve_domain`).
    target: With `problem.forward_fn`: what its output should match
      (default `prepared.values`).

  Returns:
    `position` `[batch, samples]`, `args` `(target, reference [batch, 1, 1])`
    for `problem.loss`, and `normalised` (bool): whether the position is at
    peak magnitude 1.
  """
  reference = tf.reduce_max(prepared.linear, axis=[1, 2], keepdims=True)
  gain = tf.reshape(prepared.scale, [-1, 1])
  if problem.forward_fn is not None:
    goal = prepared.values if target is None else target
    return signal * gain, (tf.convert_to_tensor(goal, signal.dtype), reference), False
  if problem.domain == "native":
    return signal * gain, (prepared.values, reference), False
  return (signal, (problem.prepare_target(prepared.normalised_linear), tf.ones_like(reference)),
          True)


def lbfgs(runner, position, args, iterations, tolerance=0.0):
  """TFP's L-BFGS from `position`, as graph ops (`LbfgsRunner.start_graph` + `run_graph`).

  Args:
    runner: An `optimize.LbfgsRunner` whose loss takes `args`.
    position: float Tensor `[batch, n]` of the runner's dtype.
    args: Tuple of the loss's extra tensors.
    iterations: int32 scalar (Python int or Tensor): the iteration cap.
    tolerance: Relative loss change below which an example has converged.

  Returns:
    TFP's `LBfgsOptimizerResults` (`position` `[batch, n]`, `converged`,
    `failed` `[batch]`, `num_iterations`, ...).
  """
  results = runner.start_graph(position, *args)
  return runner.run_graph(results, tf.cast(iterations, tf.int32),
                          tf.cast(tolerance, runner.dtype), *args)


def pad_to_bucket(position, args, config):
  """Waveforms and targets padded to a bucket of frames, for `bucketed_loss`.

  Args:
    position: `[batch, samples]`, static shape.
    args: `(target [batch, frames, features], reference [batch, 1, 1])`,
      static frame count.
    config: A `SpectrogramConfig`.

  Returns:
    `(position [batch, padded_samples], (target, reference, length, num_frames))`
    with frames padded to `phase.bucket_frames(frames)`.
  """
  target, reference = args
  num_frames = int(target.shape[1])
  extra = int(gl_lib.bucket_frames(num_frames)) - num_frames
  length = int(position.shape[1])
  position = tf.pad(position, [[0, 0], [0, extra * config.hop_length]])
  target = tf.pad(target, [[0, 0], [0, extra], [0, 0]])
  return position, (target, reference, tf.constant(length), tf.constant(num_frames))


def finish(signal, prepared, normalised=True):
  """The estimate at the input's level, silent inputs as zeros.

  Args:
    signal: float Tensor `[batch, samples]`.
    prepared: The `Prepared` of the batch.
    normalised: Whether `signal` is at peak magnitude 1 (Griffin-Lim,
      linear-domain L-BFGS) or already at the input's level ('native',
      `forward_fn`): `lbfgs_arguments`' flag.

  Returns:
    A `Finished`. With `config.preemphasis` apply `undo_preemphasis` to its
    `waveform`.
  """
  gain = tf.reshape(prepared.scale, [-1, 1])
  if normalised:
    normalised, signal = signal, signal * gain
  else:
    normalised = signal / gain
  return Finished(tf.where(prepared.silent, tf.zeros_like(signal), signal), normalised)


def undo_preemphasis(signal, config):
  """De-emphasise an estimate of the emphasised signal, then high-pass the undetermined lows.

  The stages invert the emphasised signal the spectrogram describes (with
  `config.replace(preemphasis=0.0)`); de-emphasis restores the original
  exactly (`emphasis.deemphasize`). A mel spectrogram says little about
  frequencies below its lowest band (everything under `fmin`, and DC), and
  the de-emphasis amplifies whatever the inversion left there up to
  `1 / (1 - preemphasis)` times (33x for 0.97). A zero-phase high-pass
  (`emphasis.highpass`) at 3/4 of the lowest frequency the bands weigh
  removes it: on a corpus clip as RTVC mels (fmin 55 Hz) 30-55 Hz came out
  7 dB too loud and PESQ-WB was 2.62; high-passed at 41 Hz, 3.75, with the
  mel fit unchanged (-35.45 dB). Linear spectrograms determine every bin:
  de-emphasis only.

  Args:
    signal: float Tensor `[..., samples]`, the estimate of the emphasised signal.
    config: The `SpectrogramConfig` (with its `preemphasis`).

  Returns:
    Tensor of the same shape and dtype.
  """
  signal = emphasis.deemphasize(signal, config.preemphasis)
  if config.representation == "stft":
    return signal
  weighed = np.flatnonzero(mel_lib.mel_filterbank(config).max(axis=0) > 0)
  if not weighed.size:
    return signal
  lowest = max(config.fmin, weighed[0] * config.sample_rate / config.n_fft)
  return emphasis.highpass(signal, 0.75 * lowest, config.sample_rate)


def check_length(length, num_frames, config):
  """The output length for `num_frames` frames: `length`, checked, or the default.

  Args:
    length: Samples wanted, or None for `config.num_samples(num_frames)`.
    num_frames: Frames of the spectrogram (int).
    config: A `SpectrogramConfig`.

  Returns:
    int, samples.

  Raises:
    SpecInvError: if too few frames carry any samples, or `length` gives
      another frame count (the message names the lengths that fit).
  """
  if length is None:
    if config.num_samples(num_frames) < 1:
      raise SpecInvError(
          f"the spectrogram has {num_frames} frame(s): too few to carry any samples with "
          f"center={config.center}; give at least 2 frames.")
    return config.num_samples(num_frames)
  length = int(length)
  if length <= 0 or config.num_frames(length) != num_frames:
    raise SpecInvError(
        f"length={length} samples gives {config.num_frames(max(length, 0))} frames with "
        f"hop_length={config.hop_length}, but the spectrogram has {num_frames}; use a "
        f"length between {_length_range(num_frames, config)} or leave it unset.")
  return length


def _length_range(num_frames, config):
  lengths = [n for n in range(max(1, config.num_samples(num_frames) - 2 * config.hop_length),
                              config.num_samples(num_frames) + 2 * config.hop_length + 1)
             if config.num_frames(n) == num_frames]
  return f"{lengths[0]} and {lengths[-1]}" if lengths else "(none)"


def as_frames_bins(array, config, dtype):
  """A checked array in `config.layout` as a flat `[batch, frames, features]` tensor.

  Args:
    array: Array `[..., features, frames]` (or `[..., frames, features]`
      with `config.layout='frames_bins'`), already validated
      (`validation.check_spectrogram`).
    config: A `SpectrogramConfig`.
    dtype: tf.float32 or tf.float64.

  Returns:
    `(values [batch, frames, features], batch_shape)`, the batch shape as a
    NumPy int array (empty for a single spectrogram).
  """
  values = tf.constant(array, dtype)
  values = layout.to_frames_bins(values, config)
  flat, batch_shape = layout.flatten_batch(values, 2)
  return flat, batch_shape.numpy()

"""Long audio: reconstruction in overlapping blocks of frames, in bounded memory.

An hour at 22050 Hz is 310,000 frames: too many to hold the Griffin-Lim and
L-BFGS state for at once. `reconstruct_long` walks the frames in blocks and
joins them without clicks:

* Samples are *committed* (final, handed to the sink) in consecutive ranges
  `[c_k, c_k+1)`, `c_k = k * block_frames * hop_length`.
* Block k solves for the samples from `c_k` to a little past `c_k+1` (the
  lookahead), fitting every frame that touches them. Samples before `c_k`
  that those frames also cover are held fixed at their committed values, so
  the frames across a join are fitted against the audio that is actually
  written, not against a guess.
* Griffin-Lim for block k starts from the phase of block k-1's solution on the
  frames the two share, so both sides of a join agree before L-BFGS polishes.

Frames are computed on segments without centring (`center=False`); the
config's padding (zero, reflect or edge) is applied only where a segment
meets the true start or end of the signal. Memory therefore depends on
`block_frames`, not on the input's length: with a memory-mapped input
(`np.load(path, mmap_mode='r')`) and a file sink, an hour costs what a block
costs (see `python -m bench long`).

>>> cfg = SpectrogramConfig.librosa(sample_rate=22050, n_mels=80, fmax=8000.0,
...                                 representation="mel")
>>> with soundfile.SoundFile("out.wav", "w", 22050, 1) as f:
...   result = reconstruct_long(mel, cfg, sink=f.write)      # mel: [80, frames]
"""

import collections
import dataclasses
import math
import time
import typing

import numpy as np
import tensorflow as tf

from tfspecinv import cache
from tfspecinv import emphasis
from tfspecinv import optimize
from tfspecinv import phase as gl_lib
from tfspecinv import pghi
from tfspecinv import pipeline
from tfspecinv import stages
from tfspecinv import transforms
from tfspecinv import validation
from tfspecinv.errors import SpecInvError

__all__ = ["reconstruct_long", "BlockPlan", "plan_blocks", "LongResult"]

DEFAULT_BLOCK_FRAMES = 2048
DEFAULT_LOOKAHEAD_FRAMES = 32

BlockPlan = collections.namedtuple(
    "BlockPlan", ["first_frame", "end_frame", "commit_start", "commit_end"])
BlockPlan.__doc__ = """One block: frames `[first_frame, end_frame)` are fitted; samples
`[commit_start, commit_end)` are final once it is solved."""

LongResult = collections.namedtuple("LongResult", [
    "stop_reason", "blocks", "blocks_done", "samples_written", "lbfgs_iterations", "seconds",
    "spectral_convergence_db", "domain", "joins",
])
LongResult.__doc__ = """What `reconstruct_long` did.

Fields:
  stop_reason: 'iterations' (all blocks done) or 'interrupted' (Ctrl-C: the
    blocks finished so far, plus the current block's best, were written).
  blocks, blocks_done: planned and finished blocks.
  samples_written: samples handed to the sink (the output length when complete).
  lbfgs_iterations: summed over blocks.
  seconds: wall time.
  spectral_convergence_db: of the given representation over all finished
    frames (linear domain for STFT/mel, the MFCCs for MFCC), in dB; for a
    `[channels, ...]` input, an array `[channels]`, one per channel.
  domain: the L-BFGS loss domain.
  joins: sample positions where one block's committed range meets the next.
"""


def plan_blocks(num_frames, length, config, block_frames=DEFAULT_BLOCK_FRAMES,
                lookahead_frames=DEFAULT_LOOKAHEAD_FRAMES):
  """The blocks that cover a signal of `length` samples with `num_frames` frames.

  Frame t spans samples `[t * hop - pad, t * hop - pad + frame_span)`.

  Args:
    num_frames: Frames of the whole input.
    length: Output samples.
    config: A `SpectrogramConfig`.
    block_frames: Frames committed per block (memory scales with this).
    lookahead_frames: Extra frames fitted past each block's committed range.

  Returns:
    A list of `BlockPlan`.

  Raises:
    SpecInvError: if the block is too small for the window.
  """
  hop, span, pad = config.hop_length, config.frame_span, config.padding
  frames_per_window = math.ceil(span / hop)
  if block_frames < 2 * frames_per_window:
    raise SpecInvError(
        f"block_frames={block_frames} is too small for a window spanning {frames_per_window} "
        f"frames; use at least {2 * frames_per_window} (default {DEFAULT_BLOCK_FRAMES}).")
  if lookahead_frames < 0:
    raise SpecInvError(f"lookahead_frames={lookahead_frames} must be >= 0.")
  step = block_frames * hop
  plans = []
  start = 0
  while start < length:
    end = min(start + step, length)
    if length - end < step // 4:
      end = length  # Fold a short remainder into this block.
    first = 0 if start == 0 else max(0, (start + pad - span) // hop + 1)
    last = min(num_frames, -(-(end + pad) // hop) + lookahead_frames)
    plans.append(BlockPlan(first, max(last, first + 1), start, end))
    start = end
  return plans


class _BlockSolver:
  """Compiled pieces for one config and dtype: segment framing with edge padding."""

  def __init__(self, config, dtype, domain, compression):
    self.config = config
    self.segment_config = config.replace(center=False)
    self.dtype = dtype
    self.domain = domain
    self.griffin_lim = gl_lib.GriffinLim(self.segment_config)
    self.problem = optimize.WaveformProblem(self.segment_config, domain, compression)
    vector = tf.TensorSpec([None, None], dtype)
    spec3 = tf.TensorSpec([None, None, None], dtype)
    pads = tf.TensorSpec([2], tf.int32)
    self.runner = optimize.LbfgsRunner(self._loss, [vector, spec3, tf.TensorSpec([None, 1, 1],
                                                                                dtype), pads],
                                       dtype)
    self.segment_phase = tf.function(self._segment_phase, input_signature=[vector, pads])
    self.segment_error = tf.function(self._segment_error,
                                     input_signature=[vector, pads, spec3, spec3])

  def pad_edges(self, signal, pads):
    """`signal` `[batch, samples]` padded by `pads = [left, right]` with the config's mode."""
    mode = self.config.pad_mode
    if mode == "edge":
      left = tf.repeat(signal[:, :1], pads[0], axis=1)
      right = tf.repeat(signal[:, -1:], pads[1], axis=1)
      return tf.concat([left, signal, right], axis=1)
    return tf.pad(signal, [[0, 0], [pads[0], pads[1]]], mode=mode.upper())

  def _loss(self, position, context, target, reference, pads):
    signal = tf.concat([context, position], axis=1)
    return self.problem.loss(self.pad_edges(signal, pads), target, reference)

  def _segment_phase(self, signal, pads):
    spec = transforms.stft_frames_bins(self.pad_edges(signal, pads), self.segment_config)
    return tf.math.angle(spec)

  def _segment_error(self, signal, pads, native, linear):
    """Per-frame squared error and target energy `[batch, frames]` of a solved segment."""
    padded = self.pad_edges(signal, pads)
    if self.config.representation == "mfcc":
      estimate, goal = transforms.forward_frames_bins(padded, self.segment_config), native
    else:
      estimate, goal = self.problem.linear_forward(padded), linear
    return (tf.reduce_sum(tf.square(estimate - goal), axis=-1),
            tf.reduce_sum(tf.square(goal), axis=-1))


@cache.cached()
def _solver(config, dtype, domain, compression):
  """The shared `_BlockSolver` for a config, dtype and loss (bounded LRU, `tfspecinv.cache`)."""
  return _BlockSolver(config, dtype, domain, compression)


def _frames_slice(spectrogram, config, first, end):
  """Frames `[first, end)` of a `[..., features, frames]` array in `config.layout`.

  Memory-mapped arrays stay lazy.
  """
  if config.layout == "bins_frames":
    return np.asarray(spectrogram[..., first:end])
  return np.asarray(spectrogram[..., first:end, :])


def reconstruct_long(spectrogram, config, *, sink=None, length=None,
                     block_frames=DEFAULT_BLOCK_FRAMES, lookahead_frames=DEFAULT_LOOKAHEAD_FRAMES,
                     method="auto", gl_iters=None, lbfgs_iters=None, nnls_iters=200,
                     domain="auto", compression=0.5, momentum=0.99, seed=0, progress=None,
                     dtype=tf.float32):
  """Reconstruct one long spectrogram block by block, in bounded memory.

  Args:
    spectrogram: 2-D array `[features, frames]` (or `[frames, features]` with
      `config.layout='frames_bins'`), e.g. `np.load(path, mmap_mode='r')`,
      or 3-D `[channels, features, frames]`: channels solved together as a
      batch, each as on its own. Only one block's frames are read at a time.
    config: The `SpectrogramConfig` that made it (any representation/scale).
    sink: Callable receiving consecutive NumPy chunks of the waveform, `[n]`
      (or `[channels, n]`) (e.g. `soundfile.SoundFile(...).write` for one
      channel, `io.streamed_audio`'s `write` for several). None: the chunks
      are collected and returned.
    length: Output samples; default `config.num_samples(frames)`.
    block_frames: Frames committed per block; memory grows with it, not with
      the input (2048 frames ~ 24 s at hop 256 / 22050 Hz).
    lookahead_frames: Frames fitted past each block and redone by the next.
    method: 'auto' (default: `pipeline.auto_recipe` per block, without a
      time budget), 'lbfgs' or 'griffin_lim' ('joint' is not supported).
    gl_iters, lbfgs_iters, nnls_iters, domain, compression, momentum, seed,
      dtype: As in `reconstruct`, per block (None: the recipe's counts).
    progress: Optional callable receiving a `pipeline.Progress` (stage
      'block') after each block, with the time left estimated.

  Returns:
    `(waveform, result)`: the waveform `[length]` or `[channels, length]`
    (None when a `sink` was given) and a `LongResult`.

  Raises:
    SpecInvError: for bad input (as `reconstruct`) or block sizes.

  Example:
    >>> mel = np.load("hour_mel.npy", mmap_mode="r")            # [80, frames], read per block
    >>> with soundfile.SoundFile("hour.wav", "w", 22050, 1) as out:
    ...   _, result = reconstruct_long(mel, config, sink=out.write, progress=print)
  """
  array = spectrogram if hasattr(spectrogram, "shape") else np.asarray(spectrogram)
  if len(array.shape) not in (2, 3):
    raise SpecInvError(
        f"reconstruct_long takes one spectrogram [features, frames] or its channels "
        f"[channels, features, frames]; got shape {tuple(array.shape)}. Use reconstruct for "
        "batches, or loop over the examples.")
  _check_block_config(config)
  if config.preemphasis:
    # Blocks of the emphasised signal, de-emphasised as they are committed.
    stream = emphasis.DeemphasisStream(config.preemphasis, sink)
    _, result = reconstruct_long(
        array, config.replace(preemphasis=0.0), sink=stream, length=length,
        block_frames=block_frames, lookahead_frames=lookahead_frames, method=method,
        gl_iters=gl_iters, lbfgs_iters=lbfgs_iters, nnls_iters=nnls_iters, domain=domain,
        compression=compression, momentum=momentum, seed=seed, progress=progress, dtype=dtype)
    return stream.waveform(), result
  if method == "joint":
    raise SpecInvError("block mode does not support method='joint'; use 'auto', 'lbfgs' or "
                       "'griffin_lim', or reconstruct the whole input at once.")
  method, gl_iters, lbfgs_iters = pipeline.resolve_recipe(method, gl_iters, lbfgs_iters, config)
  if method == "griffin_lim":
    lbfgs_iters = 0
  num_frames = array.shape[-1 if config.layout == "bins_frames" else -2]
  channels = array.shape[0] if len(array.shape) == 3 else None
  length = stages.check_length(length, num_frames, config)
  domain = stages.resolve_domain(domain, config)
  plans = plan_blocks(num_frames, length, config, block_frames, lookahead_frames)
  _validate_all(array, config, num_frames)
  solver = _solver(config, dtype, domain, float(compression))
  settings = _BlockSettings(config=config, length=length, solver=solver,
                            eng=pipeline.engine_for(config, dtype), gl_iters=gl_iters,
                            lbfgs_iters=lbfgs_iters, nnls_iters=int(nnls_iters),
                            momentum=momentum, seed=seed)
  collected = [] if sink is None else None
  write = collected.append if sink is None else sink
  if channels is None:  # Solved as a batch of one; the sink gets 1-D chunks.
    write = (lambda chunk, out=write: out(chunk[0]))
  zeros = np.zeros(channels or 1)
  totals = _Totals(error=zeros, energy=zeros)
  best = _BestSoFar()
  started = time.perf_counter()
  previous = None
  stop = "iterations"
  for index, plan in enumerate(plans):
    try:
      previous, totals = _solve_block(plan, previous, array, settings, totals, write, best)
    except KeyboardInterrupt:
      kept = best.take()
      if kept is not None:  # The interrupted block's best so far.
        totals = _commit(kept.signal, kept.start, plan, write, totals)
      stop = "interrupted"
      break
    totals = totals._replace(done=index + 1)
    if progress is not None:
      elapsed = time.perf_counter() - started
      progress(pipeline.Progress("block", index + 1, len(plans), _sc_db(totals), elapsed,
                                 elapsed / (index + 1) * (len(plans) - index - 1)))
  result = LongResult(
      stop_reason=stop, blocks=len(plans), blocks_done=totals.done,
      samples_written=totals.written, lbfgs_iterations=totals.lbfgs,
      seconds=time.perf_counter() - started,
      spectral_convergence_db=_sc_db(totals, per_channel=channels is not None),
      domain=domain, joins=[plan.commit_start for plan in plans[1:]])
  waveform = np.concatenate(collected, axis=-1) if collected is not None else None
  return waveform, result


@dataclasses.dataclass(frozen=True)
class _BlockSettings:
  """One `reconstruct_long` call's settings, the same for every block (frozen).

  Attributes:
    config: The `SpectrogramConfig` (without pre-emphasis).
    length: Output samples.
    solver: The `_BlockSolver`.
    eng: The `pipeline.Engine` (its compiled `linear_magnitude`).
    gl_iters, lbfgs_iters, nnls_iters: Iterations per block (int).
    momentum: Griffin-Lim momentum.
    seed: Seed of the random phase (offset by each block's first frame).
  """
  config: object
  length: int
  solver: object
  eng: object
  gl_iters: int
  lbfgs_iters: int
  nnls_iters: int
  momentum: float
  seed: int


class _Totals(typing.NamedTuple):
  """Running totals over the finished blocks (replaced, never mutated).

  Fields:
    error, energy: float64 NumPy `[channels]`: squared error and target
      energy of the frames finalised so far.
    lbfgs: L-BFGS iterations, summed.
    written: Samples handed to the sink.
    done: Blocks finished.
    next_frame: First frame not yet counted in `error` / `energy`.
  """
  error: np.ndarray
  energy: np.ndarray
  lbfgs: int = 0
  written: int = 0
  done: int = 0
  next_frame: int = 0


class _Kept(typing.NamedTuple):
  """A block's estimate so far: `signal` `[channels, samples]` from sample `start`."""
  signal: np.ndarray
  start: int


class _BestSoFar:
  """The estimate of the block in progress that Ctrl-C commits.

  `_fit` calls `keep` when it has a full estimate (Griffin-Lim's, before
  L-BFGS) and `clear` when the block is solved; the driver calls `take` on
  Ctrl-C.
  """

  def __init__(self):
    self._kept = None

  def keep(self, signal, start):
    self._kept = _Kept(signal, start)

  def clear(self):
    self._kept = None

  def take(self):
    """The kept `_Kept` (or None), cleared."""
    kept, self._kept = self._kept, None
    return kept


def _check_block_config(config):
  """Block mode frames segments as centred or uncentred STFTs: refuse other framings.

  Raises:
    SpecInvError: for `drop_last_frame` or a `padding` other than centring's
      (e.g. the hifigan preset).
  """
  usual = config.n_fft // 2 if config.center else 0
  what = None
  if config.drop_last_frame:
    what = "drop_last_frame=True (e.g. the whisper preset)"
  elif config.padding != usual:
    what = (f"padding={config.padding} with center={config.center} (which pads {usual}; e.g. the "
            "hifigan preset)")
  if what:
    raise SpecInvError(
        f"block mode does not support {what}; reconstruct the whole input at once "
        "(--block_frames=0 on the command line, or tfspecinv.reconstruct).")


def _validate_all(array, config, num_frames, chunk_frames=16384):
  """Check the whole input (NaN, negative values, feature count) before writing anything."""
  for first in range(0, num_frames, chunk_frames):
    validation.check_spectrogram(_frames_slice(array, config, first, first + chunk_frames), config)


def _sc_db(totals, per_channel=False):
  """Spectral convergence (dB) of the finished frames: all channels together, or `[channels]`."""
  if per_channel:
    return np.array([_ratio_db(e, n) for e, n in zip(totals.error, totals.energy)])
  return _ratio_db(float(np.sum(totals.error)), float(np.sum(totals.energy)))


def _ratio_db(error, energy):
  if energy <= 0:
    return float("-inf") if error <= 0 else float("inf")
  return 10.0 * math.log10(max(error, 1e-300) / energy)


_Solved = collections.namedtuple("_Solved", ["start", "first_frame", "end_frame", "signal",
                                             "pads"])


def _segment_geometry(plan, config, length):
  """Signal range `[start, stop)` of a block's frames and the edge padding `[left, right]`."""
  origin = plan.first_frame * config.hop_length - config.padding
  end = (plan.end_frame - 1) * config.hop_length - config.padding + config.frame_span
  start, stop = max(origin, 0), min(end, length)
  return start, stop, [start - origin, end - stop]


class _Segment(typing.NamedTuple):
  """A block's signal range `[start, stop)` and its edge padding `pads` (int32 `[2]` Tensor)."""
  start: int
  stop: int
  pads: tf.Tensor


def _solve_block(plan, previous, array, settings, totals, write, best):
  """Solve one block and write its committed samples.

  Returns:
    `(solved, totals)`: what the next block needs (`_Solved`) and the new `_Totals`.
  """
  config, solver = settings.config, settings.solver
  start, stop, pads = _segment_geometry(plan, config, settings.length)
  segment = _Segment(start, stop, tf.constant(pads, tf.int32))
  block = _frames_slice(array, config, plan.first_frame, plan.end_frame)
  native, _ = stages.as_frames_bins(block, config, solver.dtype)
  linear, magnitude = settings.eng.linear_magnitude(native, tf.constant(settings.nnls_iters))
  prepared = stages.normalise(native, linear, magnitude, config)
  silent = prepared.silent.numpy()[:, 0]  # Per channel.
  context = _context(previous, native.shape[0], start, plan.commit_start)
  if not np.all(silent):
    signal, iterations = _fit(plan, previous, prepared, context, segment, settings, best)
    signal[silent, context.shape[1]:] = 0.0  # Silent channels, as in `reconstruct`.
    totals = totals._replace(lbfgs=totals.lbfgs + iterations)
    best.clear()
  else:
    signal = np.concatenate(
        [context, np.zeros((context.shape[0], stop - plan.commit_start), np.float64)], axis=1)
  totals = _account(signal, plan, prepared, segment.pads, solver, totals, config,
                    last=plan.commit_end >= settings.length)
  totals = _commit(signal, start, plan, write, totals)
  return _Solved(start, plan.first_frame, plan.end_frame, signal, pads), totals


def _context(previous, channels, start, commit_start):
  """Committed samples `[channels, commit_start - start]` from the previous block's solution."""
  if previous is None:
    return np.zeros((channels, commit_start - start), np.float64)
  return previous.signal[:, start - previous.start:commit_start - previous.start]


def _fit(plan, previous, prepared, context, segment, settings, best):
  """Griffin-Lim (warm-started from the previous block) then L-BFGS with the context fixed.

  Args:
    plan: The `BlockPlan`.
    previous: The previous block's `_Solved`, or None.
    prepared: `stages.Prepared` of the block's frames.
    context: Committed samples `[channels, commit_start - start]`, held fixed.
    segment: The block's `_Segment`.
    settings: The `_BlockSettings`.
    best: The `_BestSoFar` (Griffin-Lim's estimate is kept there for Ctrl-C).

  Returns:
    `(signal [channels, stop - start] float64, L-BFGS iterations)`.
  """
  config, solver = settings.config, settings.solver
  dtype, magnitude, start = solver.dtype, prepared.magnitude, segment.start
  scale = prepared.scale.numpy()[:, :, 0].astype(np.float64)  # [channels, 1]
  gl_state = solver.griffin_lim.start(magnitude, pghi.auto_init(config),
                                      settings.seed + plan.first_frame)
  if previous is not None:
    gl_state = _continue_phase(gl_state, previous, plan, solver)
  gl_state = solver.griffin_lim.run(magnitude, gl_state, settings.gl_iters, settings.momentum)
  estimate = solver.griffin_lim.waveform(magnitude, gl_state).numpy()
  origin = plan.first_frame * config.hop_length - config.padding
  # The segment's own signal (without padding), then its free part after the context.
  free = estimate[:, start - origin:segment.stop - origin][:, plan.commit_start - start:] * scale
  if previous is not None:
    free = _splice_previous(free, previous, plan.commit_start, config)
  native_domain = solver.domain == "native"
  gain = 1.0 if native_domain else scale
  context_t = tf.constant(context / gain, dtype)
  reference = tf.reduce_max(prepared.linear, axis=[1, 2], keepdims=True)
  if native_domain:
    args = (context_t, prepared.values, reference, segment.pads)
    position = tf.constant(free, dtype)
  else:
    args = (context_t, solver.problem.prepare_target(prepared.normalised_linear),
            tf.ones_like(reference), segment.pads)
    position = tf.constant(free / scale, dtype)
  best.keep(np.concatenate([context, free], axis=1), start)
  iterations = 0
  if settings.lbfgs_iters > 0:
    results = solver.runner.start(position, *args)
    results = solver.runner.run(results, int(settings.lbfgs_iters), 0.0, *args)
    iterations = int(results.num_iterations)
    free = results.position.numpy().astype(np.float64) * gain
  return np.concatenate([context, free], axis=1), iterations


def _splice_previous(free, previous, commit_start, config):
  """Start from the previous block's solution where it has one, fading into Griffin-Lim's.

  Its last window of samples is fitted only by frames it shares with the
  segment's edge, so the fade ends one window before its end.
  """
  known = previous.signal[:, commit_start - previous.start:]
  fade_end = min(known.shape[1] - config.frame_span, free.shape[1])
  if fade_end <= 0:
    return free
  fade_start = fade_end // 2
  weight = np.ones(fade_end)
  weight[fade_start:] = np.linspace(1.0, 0.0, fade_end - fade_start)
  mixed = free.copy()
  mixed[:, :fade_end] = weight * known[:, :fade_end] + (1.0 - weight) * free[:, :fade_end]
  return mixed


def _continue_phase(gl_state, previous, plan, solver):
  """Initial angles: the previous solution's phase on the frames both blocks fit.

  The new frames keep their own start (PGHI's phase, or random), shifted per
  bin so that it continues from the last shared frame.
  """
  shared = previous.end_frame - plan.first_frame
  if shared <= 0:
    return gl_state
  dtype = solver.dtype
  phase = solver.segment_phase(tf.constant(previous.signal, dtype),
                               tf.constant(previous.pads, tf.int32))
  offset = plan.first_frame - previous.first_frame
  given = phase[:, offset:offset + shared]
  own = tf.math.angle(gl_state.angles)
  continued = own[:, shared:] + (given[:, -1:] - own[:, shared - 1:shared])
  angles = gl_lib.initial_angles(tf.shape(gl_state.angles), dtype, "given",
                                 phase=tf.concat([given, continued], axis=1))
  return gl_lib.GriffinLimState(angles, tf.zeros_like(angles))


def _account(signal, plan, prepared, pads, solver, totals, config, last):
  """`totals` with the error of the frames this block finalises added."""
  hop, pad, span = config.hop_length, config.padding, config.frame_span
  error, energy = solver.segment_error(tf.constant(signal, solver.dtype), pads, prepared.values,
                                       prepared.linear)
  error, energy = error.numpy(), energy.numpy()  # [channels, frames]
  # Frames wholly inside what is committed after this block (and not counted before).
  first_owned = totals.next_frame - plan.first_frame
  last_frame = plan.end_frame if last else (plan.commit_end + pad - span) // hop + 1
  owned = slice(max(first_owned, 0), max(min(last_frame, plan.end_frame) - plan.first_frame, 0))
  return totals._replace(
      error=totals.error + np.sum(error[:, owned], axis=1, dtype=np.float64),
      energy=totals.energy + np.sum(energy[:, owned], axis=1, dtype=np.float64),
      next_frame=plan.first_frame + owned.stop)


def _commit(signal, start, plan, write, totals):
  """Hand samples `[commit_start, commit_end)` to the sink (zeros past the solved range).

  Returns:
    `totals` with the samples counted.
  """
  chunk = signal[:, plan.commit_start - start:plan.commit_end - start]
  missing = plan.commit_end - plan.commit_start - chunk.shape[1]
  if missing > 0:
    chunk = np.concatenate([chunk, np.zeros((chunk.shape[0], missing), chunk.dtype)], axis=1)
  write(chunk.astype(np.float32))
  return totals._replace(written=totals.written + chunk.shape[1])

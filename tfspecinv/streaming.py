"""Streaming inversion: spectrogram frames in, audio out, frame by frame.

Each pushed frame gets a phase from the previous one by the real-time
phase-gradient heuristic (RTPGHI, Prusa and Holighaus 2017: the time
derivative of the phase from the frequency derivative of the log magnitude,
then integrated along frequency from the local maxima of the frame), and joins
a look-ahead buffer that fast Griffin-Lim (FGLA, Perraudin et al. 2013)
refines for `iterations` rounds per frame; then the oldest frame of the buffer
is committed and its hop of samples is final (RTISI-LA, Zhu et al. 2007, with
FGLA's momentum). Mel frames are turned into linear magnitudes per frame by
projected-gradient NNLS warm-started from the previous frame; MFCC, dB and log
values are undone per frame first.

The output trails the input by `latency_samples = frame_span + (lookahead - 1)
* hop_length`: 1536 samples (70 ms) for n_fft 1024, hop 256 at 22050 Hz with
the default look-ahead of 3 frames.

>>> inverter = StreamingInverter(config)                 # one stream (or batch=B)
>>> pieces = [inverter.push(chunk) for chunk in chunks]  # [n_mels, k] each -> samples
>>> audio = np.concatenate(pieces + [inverter.flush()])  # the offline length

`StreamingModule` is the same step as a `tf.Module` with the state passed in
and out explicitly, for `tf.function`, SavedModel and servers.
"""

import math

import numpy as np
import tensorflow as tf

from tfspecinv import cache
from tfspecinv import mfcc as mfcc_lib
from tfspecinv import pghi
from tfspecinv import scaling
from tfspecinv import transforms
from tfspecinv.errors import SpecInvError
from tfspecinv.filterbank import mel_filterbank

__all__ = ["StreamingInverter", "StreamingModule", "STATE_NAMES", "DEFAULT_LOOKAHEAD",
           "DEFAULT_ITERATIONS", "DEFAULT_MOMENTUM"]

# Chosen from bench/results/stream.md (latency / quality / compute on the corpus).
DEFAULT_LOOKAHEAD = 3
DEFAULT_ITERATIONS = 8
DEFAULT_MOMENTUM = 0.9
DEFAULT_NNLS_ITERATIONS = 30

STATE_NAMES = ("magnitude", "spectrum", "projection", "present", "frame_index", "peak",
               "nnls")


class StreamingModule(tf.Module):
  """One streaming step as a `tf.Module`: `(state, frames) -> (state, samples)`.

  The state is a flat tuple of tensors (`STATE_NAMES`), so it can be kept by a
  server between requests, exported and imported:

    magnitude [batch, buffer, n_bins]: target magnitudes of the buffered frames.
    spectrum [batch, buffer, n_bins] complex64: their current estimates.
    projection [batch, lookahead + 1, n_bins] complex64: FGLA's last projection
      of the frames not yet committed.
    present [buffer]: 1 for buffered frames that exist (0 before the first and
      after the last frame).
    frame_index [] int32: steps taken (seeds the phase of negligible cells).
    peak [batch]: largest magnitude so far (for the PGHI tolerance).
    nnls [batch, n_bins]: the previous frame's linear estimate (mel, MFCC).

  `step(frames, present, *state)` takes `frames [batch, k, n_features]` (native
  values, frames-bins order) and `present [k]` (1 for a frame, 0 to flush)
  and returns the new state and `samples [batch, k * hop_length]`: step j
  emits the padded-signal samples `[(i - lookahead) * hop, (i - lookahead +
  1) * hop)` for the stream's step number i; `StreamingInverter` trims the
  centre padding and the end.

  Args:
    config: A `SpectrogramConfig`.
    lookahead: Frames a frame waits (and is refined) before it is committed.
    iterations: FGLA rounds over the look-ahead buffer per frame.
    momentum: FGLA's momentum (0 is plain Griffin-Lim: RTISI-LA).
    nnls_iterations: Projected-gradient steps per mel frame.
    tolerance: Relative magnitude below which RTPGHI leaves a random phase;
      default `pghi.default_tolerance(config)`.
    seed: Seed of those random phases.
    jit_compile: Compile the step with XLA (default True).

  Raises:
    SpecInvError: for a negative look-ahead or iteration count, or a window
      RTPGHI cannot model ('ones').
  """

  def __init__(self, config, lookahead=DEFAULT_LOOKAHEAD, iterations=DEFAULT_ITERATIONS,
               momentum=DEFAULT_MOMENTUM, nnls_iterations=DEFAULT_NNLS_ITERATIONS,
               tolerance=None, seed=0, jit_compile=True):
    super().__init__(name="streaming_inverter")
    for name, value in (("lookahead", lookahead), ("iterations", iterations),
                        ("nnls_iterations", nnls_iterations)):
      if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise SpecInvError(f"{name}={value!r} must be an integer >= 0.")
    if not (0.0 <= float(momentum) < 1.0):
      raise SpecInvError(f"momentum={momentum!r} must be in [0, 1) (0: plain Griffin-Lim).")
    self.config = config
    self.lookahead = int(lookahead)
    self.iterations = int(iterations)
    self.momentum = float(momentum)
    self.nnls_iterations = int(nnls_iterations)
    self.seed = int(seed)
    self.gamma = pghi.window_gamma(config)
    self.tolerance = pghi.default_tolerance(config) if tolerance is None else float(tolerance)
    hop, n_fft = config.hop_length, config.n_fft
    self.hop = hop
    self.overlap = -(-n_fft // hop)                     # frames covering one sample, at most
    self.active = self.lookahead + 1
    self.buffer = self.overlap - 1 + self.active
    self.width = self.overlap * hop                     # frame width padded to whole hops
    full = np.zeros(self.width)
    full[config.window_offset:config.window_offset + config.win_length] = transforms.window(config)
    self._window = tf.constant(full, tf.float32)
    self._wss_floor = transforms.EDGE_FLOOR * _interior_wss(full[:n_fft], hop)
    self._prepare_features()
    bins = np.arange(config.n_bins)
    centre = config.window_offset + config.win_length / 2
    self._shift = tf.constant(2 * np.pi * centre / n_fft * bins, tf.float32)
    base = 2 * np.pi * hop * bins / n_fft
    base[0] = 0.0
    slope = np.full(config.n_bins, hop * n_fft / self.gamma)
    slope[[0, -1]] = 0.0
    self._tbase, self._tslope = tf.constant(base, tf.float32), tf.constant(slope, tf.float32)
    self._fscale = float(self.gamma / (hop * n_fft))
    # One frame: `step_frame(frame [batch, features], present [], *state) -> (*state,
    # samples [batch, hop])`, the body of `step`'s loop; a push of one frame calls its
    # concrete function directly (no loop, no signature matching: 0.7 ms against 1.4 ms).
    self.step_frame = tf.function(
        self._step_one, jit_compile=jit_compile, autograph=False,
        input_signature=[tf.TensorSpec([None, config.n_features], tf.float32),
                         tf.TensorSpec([], tf.float32)] + self.state_specs())
    specs = [tf.TensorSpec([None, None, config.n_features], tf.float32),
             tf.TensorSpec([None], tf.float32)] + self.state_specs()
    self.step = tf.function(self._step, input_signature=specs, autograph=False)
    self.initial_state = tf.function(self._initial_state,
                                     input_signature=[tf.TensorSpec([], tf.int32)],
                                     autograph=False)

  # --------------------------------------------------------------- features
  def _prepare_features(self):
    config = self.config
    self._mfcc_inverse = None
    if config.representation == "mfcc":
      self._mfcc_inverse = tf.constant(np.linalg.pinv(
          mfcc_lib.dct_matrix(config).T * mfcc_lib.lifter_weights(config)[None, :]), tf.float32)
    self._mel = None
    if config.representation != "stft":
      weights = mel_filterbank(config)
      lipschitz = np.linalg.norm(weights, ord=2) ** 2
      self._mel = tf.constant(weights.T, tf.float32)                 # [n_bins, n_mels]
      self._mel_step = tf.constant(weights / lipschitz, tf.float32)  # [n_mels, n_bins]
      self._pinv = tf.constant(np.linalg.pinv(weights).T, tf.float32)

  def _linear(self, values, warm):
    """Native values `[batch, features]` -> (|STFT| `[batch, n_bins]`, linear estimate)."""
    config = self.config
    if self._mfcc_inverse is not None:
      values = tf.linalg.matmul(values, self._mfcc_inverse)
    linear = tf.nn.relu(scaling.unscale_amplitude(values, config))
    if self._mel is not None:
      start = tf.where(tf.reduce_sum(warm, -1, keepdims=True) > 0, warm,
                       tf.nn.relu(tf.linalg.matmul(linear, self._pinv)))
      estimate = start
      previous = start
      momentum = tf.constant(1.0)
      for _ in range(self.nnls_iterations):  # Accelerated projected gradient (FISTA).
        next_momentum = (1.0 + tf.sqrt(1.0 + 4.0 * momentum * momentum)) / 2.0
        point = estimate + ((momentum - 1.0) / next_momentum) * (estimate - previous)
        residual = tf.linalg.matmul(point, self._mel) - linear
        previous, estimate = estimate, tf.nn.relu(
            point - tf.linalg.matmul(residual, self._mel_step))
        momentum = next_momentum
      linear = estimate
    magnitude = tf.sqrt(linear) if config.power == 2 else linear
    return magnitude, linear

  # ------------------------------------------------------------------ state
  def state_specs(self):
    """`tf.TensorSpec`s of the state, in `STATE_NAMES` order (batch unknown)."""
    nb = self.config.n_bins
    return [tf.TensorSpec([None, self.buffer, nb], tf.float32),
            tf.TensorSpec([None, self.buffer, nb], tf.complex64),
            tf.TensorSpec([None, self.active, nb], tf.complex64),
            tf.TensorSpec([self.buffer], tf.float32),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([None], tf.float32),
            tf.TensorSpec([None, nb], tf.float32)]

  def _initial_state(self, batch):
    nb = self.config.n_bins
    zeros = lambda shape, dtype=tf.float32: tf.zeros(shape, dtype)
    return (zeros([batch, self.buffer, nb]), zeros([batch, self.buffer, nb], tf.complex64),
            zeros([batch, self.active, nb], tf.complex64), zeros([self.buffer]),
            tf.constant(0), zeros([batch]), zeros([batch, nb]))

  # ------------------------------------------------------------------- step
  def _step(self, frames, present, *state):
    """`frames [batch, k, features]`, `present [k]` -> (*state, samples [batch, k * hop])."""
    frames_t = tf.transpose(frames, [1, 0, 2])
    batch = tf.shape(frames)[0]
    count = tf.shape(frames)[1]
    out = tf.TensorArray(tf.float32, size=count, element_shape=tf.TensorShape([None, self.hop]))

    def body(i, out, *state):
      result = self.step_frame(frames_t[i], present[i], *state)
      return (i + 1, out.write(i, result[-1])) + tuple(result[:-1])

    result = tf.while_loop(lambda i, *_: i < count, body, (tf.constant(0), out) + tuple(state))
    samples = tf.reshape(tf.transpose(result[1].stack(), [1, 0, 2]), [batch, count * self.hop])
    return tuple(result[2:]) + (samples,)

  def _ola(self, spectrum):
    """Overlap-add of the windowed inverse FFTs, `[batch, (buffer - 1) * hop + width]`."""
    frames = tf.signal.irfft(spectrum, fft_length=[self.config.n_fft])
    if self.width > self.config.n_fft:
      frames = tf.pad(frames, [[0, 0], [0, 0], [0, self.width - self.config.n_fft]])
    return transforms.overlap_add(frames * self._window, self.hop)

  def _analyse(self, signal, first):
    """Spectra of the frames from buffer position `first` on, `[batch, buffer - first, n_bins]`."""
    segments = transforms.frame(signal[:, first * self.hop:], self.width, self.hop)
    segments = (segments * self._window)[..., :self.config.n_fft]
    return tf.signal.rfft(segments, fft_length=[self.config.n_fft])

  def _step_one(self, frame, present, magnitude, spectrum, projection, exists, frame_index,
                peak, nnls):
    new_mag, linear = self._linear(frame, nnls)
    new_mag = new_mag * present
    nnls = tf.where(present > 0, linear, nnls)
    peak = tf.maximum(peak, tf.reduce_max(new_mag, -1))
    phase = self._rtpghi(new_mag, magnitude[:, -1], spectrum[:, -1], peak, frame_index)
    new_spec = tf.complex(new_mag * tf.cos(phase), new_mag * tf.sin(phase))
    magnitude = tf.concat([magnitude[:, 1:], new_mag[:, None]], 1)
    spectrum = tf.concat([spectrum[:, 1:], new_spec[:, None]], 1)
    projection = tf.concat([projection[:, 1:], new_spec[:, None]], 1)
    exists = tf.concat([exists[1:], present[None]], 0)
    wss = transforms.overlap_add(
        tf.tile((self._window * self._window)[None, None], [1, self.buffer, 1]) *
        exists[None, :, None], self.hop)[0]
    inverse_wss = wss / tf.square(tf.maximum(wss, self._wss_floor))
    first = self.buffer - self.active
    committed = spectrum[:, :first]
    target = tf.cast(magnitude[:, first:], tf.complex64)
    alpha = tf.constant(self.momentum, tf.complex64)
    for _ in range(self.iterations):
      rebuilt = self._analyse(self._ola(spectrum) * inverse_wss, first)
      size = tf.cast(tf.abs(rebuilt), tf.complex64)
      unit = tf.where(tf.abs(rebuilt) > 1e-12, rebuilt / tf.where(
          tf.abs(rebuilt) > 1e-12, size, tf.ones_like(size)), tf.ones_like(rebuilt))
      projected = target * unit
      accelerated = projected + alpha * (projected - projection)
      projection = projected
      spectrum = tf.concat([committed, accelerated], 1)
    # Commit the oldest active frame at its last projection; its hop is final.
    final = tf.concat([committed, projection[:, :1]], 1)
    spectrum = tf.concat([final, spectrum[:, first + 1:]], 1)
    start = first * self.hop
    signal = self._ola(final)[:, start:start + self.hop] * inverse_wss[start:start + self.hop]
    return (magnitude, spectrum, projection, exists, frame_index + 1, peak, nnls, signal)

  def _rtpghi(self, new_mag, old_mag, old_spec, peak, frame_index):
    """Phase `[batch, n_bins]` of a new frame from the previous one (RTPGHI, no delay)."""
    floor = self.tolerance * tf.where(peak > 0, peak, tf.ones_like(peak))[:, None]
    log_new = tf.math.log(tf.maximum(new_mag, floor))
    log_old = tf.math.log(tf.maximum(old_mag, floor))

    def tgrad(log_s):
      zero = tf.zeros_like(log_s[:, :1])
      d_freq = tf.concat([zero, (log_s[:, 2:] - log_s[:, :-2]) / 2, zero], -1)
      return self._tbase + self._tslope * d_freq

    time_step = (tgrad(log_new) + tgrad(log_old)) / 2
    fgrad = -self._fscale * (log_new - log_old)
    freq_step = tf.concat([tf.zeros_like(fgrad[:, :1]), (fgrad[:, 1:] + fgrad[:, :-1]) / 2], -1)
    old_phase = tf.math.angle(old_spec) + self._shift        # centred-window convention
    along_time = old_phase + time_step
    # Local maxima take their phase along time; the other cells along frequency
    # from the maximum uphill of them (the heap's order for a single peak).
    nb = self.config.n_bins
    s = new_mag
    lower = tf.concat([tf.fill(tf.shape(s[:, :1]), -1.0), s[:, :-1]], -1)
    upper = tf.concat([s[:, 1:], tf.fill(tf.shape(s[:, :1]), -1.0)], -1)
    usable = s > floor
    fresh = old_mag <= floor                                 # no phase to continue from
    is_root = tf.logical_or(tf.logical_and(s >= lower, s >= upper), tf.logical_not(usable))
    bins = tf.range(nb)
    last_below = _running_max(tf.where(is_root, bins, -1), nb)
    first_above = -_running_max(tf.where(is_root, -bins, -nb), nb, reverse=True)
    roots = tf.where(lower > upper, last_below, first_above)
    roots = tf.clip_by_value(tf.where(is_root, bins, roots), 0, nb - 1)
    cumulative = tf.cumsum(freq_step, axis=-1)
    start = tf.where(fresh, tf.zeros_like(along_time), along_time)
    phase = (tf.gather(start, roots, batch_dims=1) + cumulative -
             tf.gather(cumulative, roots, batch_dims=1))
    seed = tf.stack([frame_index, tf.constant(self.seed)])
    # One draw per frame, the same for every stream of a batch (a batch gives what
    # single streams give).
    noise = tf.random.stateless_uniform([1, nb], seed=seed) * (2 * math.pi)
    phase = tf.where(usable, phase, noise)
    return tf.math.floormod(phase - self._shift, 2 * math.pi)


def _running_max(x, size, reverse=False):
  """Running maximum along the last axis by doubling (log2(size) steps)."""
  offset = 1
  fill = tf.reduce_min(x)
  while offset < size:
    pad = tf.fill(tf.concat([tf.shape(x)[:-1], [offset]], 0), fill)
    shifted = tf.concat([x[..., offset:], pad], -1) if reverse else tf.concat(
        [pad, x[..., :-offset]], -1)
    x = tf.maximum(x, shifted)
    offset *= 2
  return x


def _interior_wss(window, hop):
  """The largest window-sum-square of a long run of frames."""
  phases = np.zeros(hop)
  w2 = window ** 2
  for start in range(0, len(w2), hop):
    piece = w2[start:start + hop]
    phases[:len(piece)] += piece
  return float(phases.max())


class StreamingInverter:
  """A stream (or a batch of streams) of spectrogram frames in, samples out.

  `push(frames)` takes any number of frames and returns the samples that are
  final; `flush()` ends the stream and returns the rest. The concatenated
  output has the offline result's length, `config.num_samples(frames)`.

  Example:
    >>> inverter = tfspecinv.StreamingInverter(config)          # lookahead=3
    >>> out = [inverter.push(mel[:, t:t + 1]) for t in range(mel.shape[1])]
    >>> waveform = np.concatenate(out + [inverter.flush()])     # [num_samples]
    >>> inverter.latency_samples                                # 1536 for n_fft 1024, hop 256

  Args:
    config: The `SpectrogramConfig` the frames were made with (any
      representation, scale and preset `reconstruct` takes).
    lookahead: Frames of look-ahead (latency vs. quality); default 3.
    iterations: FGLA rounds over the look-ahead buffer per frame; default 8.
    batch: Number of streams advanced together (None: one stream, frames
      without a batch axis).
    momentum, nnls_iterations, tolerance, seed, jit_compile: see
      `StreamingModule`.
    state: A state from `get_state()` to continue a stream.

  Raises:
    SpecInvError: as `StreamingModule`; `push` for frames of the wrong
      feature count, NaN or Inf values, or a push after `flush` (the state is
      then unchanged and the stream can go on).
  """

  def __init__(self, config, lookahead=DEFAULT_LOOKAHEAD, iterations=DEFAULT_ITERATIONS,
               batch=None, momentum=DEFAULT_MOMENTUM, nnls_iterations=DEFAULT_NNLS_ITERATIONS,
               tolerance=None, seed=0, jit_compile=True, module=None, state=None):
    self.config = config
    self.module = module or _cached_module(config, lookahead, iterations, momentum,
                                           nnls_iterations, tolerance, seed, jit_compile)
    self.batch = batch
    self._state = self.module.initial_state(tf.constant(batch or 1, tf.int32))
    step_frame = getattr(self.module, "step_frame", None)  # A wrapped SavedModel may lack it.
    self._frame_step = step_frame.get_concrete_function() if step_frame is not None else None
    self._frames = 0          # stored frames pushed
    self._steps = 0           # steps taken (frames pushed and flushed)
    self._emitted = 0         # output samples returned
    self._last = None         # last frame (for drop_last_frame)
    self._closed = False
    if state is not None:
      self.set_state(state)

  @property
  def latency_samples(self):
    """How many samples the output trails the input: `frame_span + (lookahead - 1) * hop`."""
    return self.config.frame_span + (self.module.lookahead - 1) * self.config.hop_length

  @property
  def latency_seconds(self):
    return self.latency_samples / self.config.sample_rate

  def _check(self, frames):
    config = self.config
    array = np.asarray(frames, np.float32)
    rank = 2 if self.batch is None else 3
    if array.ndim == rank - 1:
      array = array[..., None] if config.layout == "bins_frames" else array[..., None, :]
    if array.ndim != rank:
      order = "features, frames" if config.layout == "bins_frames" else "frames, features"
      raise SpecInvError(
          f"pushed frames have shape {array.shape}; give "
          f"[{'' if self.batch is None else 'batch, '}{order}] (the config's layout).")
    if self.batch is None:
      array = array[None]
    if config.layout == "bins_frames":
      array = np.swapaxes(array, 1, 2)
    if array.shape[0] != (self.batch or 1):
      raise SpecInvError(f"pushed a batch of {array.shape[0]} streams to an inverter of "
                         f"batch={self.batch}; push [batch, ...] with batch={self.batch}.")
    if array.shape[2] != config.n_features:
      raise SpecInvError(
          f"pushed frames have {array.shape[2]} features but the config's {config.representation}"
          f" has {config.n_features}; check n_fft / n_mels / n_mfcc and the layout "
          f"({config.layout}).")
    bad = ~np.isfinite(array)
    if bad.any():
      raise SpecInvError(
          f"pushed frames contain {int(np.isnan(array).sum())} NaN and "
          f"{int(np.isinf(array).sum())} infinite values; replace them (e.g. np.nan_to_num) "
          "before pushing. The stream is unchanged and can go on.")
    return array

  def push(self, frames):
    """Push frames; returns the samples that are final now.

    Args:
      frames: `[features, k]` (`[k, features]` for `layout='frames_bins'`),
        `[features]` for one frame, with a leading batch axis when `batch`
        is set.

    Returns:
      float32 NumPy `[samples]` (`[batch, samples]`), possibly empty.

    Raises:
      SpecInvError: wrong shape, NaN/Inf, or the stream was flushed.
    """
    if self._closed:
      raise SpecInvError("push after flush(): the stream has ended; start a new "
                         "StreamingInverter for a new stream.")
    array = self._check(frames)
    count = array.shape[1]
    if count == 0:
      return self._shape(np.zeros([array.shape[0], 0], np.float32))
    self._last = array[:, -1:]
    if count == 1 and self._frame_step is not None:  # The common push: one frame, no loop.
      result = self._frame_step(tf.constant(array[:, 0]), _ONE, *self._state)
    else:
      result = self.module.step(tf.constant(array), _ones(count), *self._state)
    self._state = result[:-1]
    self._frames += count
    self._steps += count
    return self._emit(result[-1].numpy(), count, final=False)

  def flush(self):
    """End the stream: refine and commit the frames still waiting; returns the last samples."""
    if self._closed:
      raise SpecInvError("flush() was already called: the stream has ended.")
    self._closed = True
    batch = self.batch or 1
    pieces = []
    count = 0
    if self.config.drop_last_frame and self._last is not None:
      # The STFT had one more frame than was stored: repeat the last, as offline.
      result = self.module.step(tf.constant(self._last), _ones(1), *self._state)
      self._state, count = result[:-1], 1
      self._steps += 1
      pieces.append(result[-1].numpy())
    tail = self.module.lookahead + -(-(self.config.frame_span - self.config.padding) //
                                    self.config.hop_length)
    zeros = np.zeros([batch, tail, self.config.n_features], np.float32)
    result = self.module.step(tf.constant(zeros), tf.zeros([tail]), *self._state)
    self._state = result[:-1]
    self._steps += tail
    pieces.append(result[-1].numpy())
    return self._emit(np.concatenate(pieces, 1), count + tail, final=True)

  def _emit(self, samples, steps, final):
    """Trim the centre padding and, at the end, the samples beyond the offline length."""
    config = self.config
    steps_before = self._steps - steps
    start = (steps_before - self.module.lookahead) * config.hop_length - config.padding
    if final:
      end = config.num_samples(self._frames) if self._frames else 0
    else:
      end = (self._frames - 1) * config.hop_length + config.frame_span - config.padding
    lo = max(self._emitted - start, 0)
    hi = max(min(end - start, samples.shape[1]), lo)
    out = samples[:, lo:hi]
    self._emitted += out.shape[1]
    return self._shape(out)

  def _shape(self, out):
    return out[0] if self.batch is None else out

  # --------------------------------------------------------- state round trip
  def get_state(self):
    """The stream's state: a dict of NumPy arrays and counters (picklable)."""
    state = {name: value.numpy() for name, value in zip(STATE_NAMES, self._state)}
    state.update(frames=self._frames, steps=self._steps, emitted=self._emitted, closed=self._closed,
                 last=None if self._last is None else self._last.copy())
    return state

  def set_state(self, state):
    """Continue from `get_state()`'s dict (of an inverter with the same settings)."""
    specs = self.module.state_specs()
    values = []
    for name, spec in zip(STATE_NAMES, specs):
      value = np.asarray(state[name])
      if not spec.shape.is_compatible_with(value.shape):
        raise SpecInvError(f"state[{name!r}] has shape {value.shape}, this inverter needs "
                           f"{spec.shape}; import a state of the same config and lookahead.")
      values.append(tf.constant(value, spec.dtype))
    self._state = tuple(values)
    self._frames, self._emitted = int(state["frames"]), int(state["emitted"])
    self._steps = int(state["steps"])
    self._closed = bool(state["closed"])
    self._last = state["last"]


_ONE = tf.constant(1.0)


@cache.cached()
def _ones(count):
  """`tf.ones([count])`, made once per count (a push of one frame pays no op for it)."""
  return tf.ones([count])


@cache.cached()
def _cached_module(config, lookahead, iterations, momentum, nnls_iterations, tolerance, seed,
                   jit_compile):
  """One `StreamingModule` (and its compiled step) per config and settings."""
  return StreamingModule(config, lookahead, iterations, momentum, nnls_iterations, tolerance,
                         seed, jit_compile)

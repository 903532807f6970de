"""Phase from magnitude alone: phase-gradient heuristic integration (PGHI).

Prusa, Balazs and Sondergaard, "A noniterative method for reconstruction of
phase from STFT magnitude" (IEEE/ACM TASLP 2017), in its real-time form
(Prusa and Holighaus 2017, "RTPGHI"), which integrates one frame at a time.

For a Gaussian window `exp(-pi t^2 / gamma)` the phase gradient follows from
the log-magnitude `log s`:

    time step (radians per hop):  2 pi a m / M + a M / (2 gamma) * d(log s)/dm
    frequency step (per bin):     -gamma / (2 a M) * d(log s)/dn

(hop `a`, FFT size `M`, bin `m`, frame `n`, centred differences). Other
windows use the `gamma` of their best-fitting Gaussian (`WINDOW_GAMMA`).

Each frame's phases are integrated from the frame before, largest
coefficients first: a coefficient takes its phase along time from the
previous frame or along frequency from a neighbour in its own frame,
whichever source the heap of the real-time algorithm would reach first.
Which source that is depends on magnitudes only, so it is found for every
frame at once by two max-min sweeps over the bins; only the phases
themselves need a pass over the frames.

`pghi_phase` runs in NumPy (float64) before the compiled iterations and
costs a few tens of milliseconds for a 10 s clip; `pghi_phase_graph` is the
same algorithm as TensorFlow ops, for graphs and SavedModels.
"""

import math

import numpy as np
import tensorflow as tf

from tfspecinv.errors import SpecInvError

__all__ = ["pghi_phase", "pghi_phase_graph", "auto_init", "default_tolerance", "window_gamma",
           "WINDOW_GAMMA"]

# gamma / win_length^2 of the Gaussian matching each window (Prusa et al. 2017, Table I).
WINDOW_GAMMA = {"hann": 0.25645, "hamming": 0.29794, "blackman": 0.17954}


# PGHI integrates the phase from frame to frame along each bin's instantaneous
# frequency. Over hops longer than this (e.g. librosa's n_fft 2048 at 50%
# overlap: 46 ms) speech and music change too much between frames: on real
# speech it gave frame-centred clicks up to 2.7x the original's peak and no
# better spectral convergence than a random start (tests/test_edges.py).
PGHI_MAX_HOP_SECONDS = 0.025


def auto_init(config):
  """What `init='auto'` means for `config`.

  'pghi' for bell-shaped windows (Hann, Hamming, Blackman) with a hop of at
  most `PGHI_MAX_HOP_SECONDS` (25 ms), else 'random'.
  """
  short_hop = config.hop_length <= PGHI_MAX_HOP_SECONDS * config.sample_rate
  return "pghi" if config.window in WINDOW_GAMMA and short_hop else "random"


def default_tolerance(config):
  """Relative magnitude below which PGHI leaves a cell's phase random.

  Linear magnitudes are exact, so every cell above 1e-5 of the peak is
  integrated. Magnitudes estimated from mel bands (or MFCCs) are smooth
  across frequency; integrating their quiet cells gives a coherent, buzzy
  phase where a random one is closer to the noise they came from: on the
  corpus, 1e-2 raised PESQ after Griffin-Lim (one speech clip from 2.24 to
  2.83) and kept PGHI's gain in spectral convergence.
  """
  return 1e-5 if config.representation == "stft" else 1e-2


def window_gamma(config):
  """`gamma` (samples^2) of the Gaussian that stands in for `config.window`.

  Raises:
    SpecInvError: for a window with no Gaussian counterpart ('ones').
  """
  if config.window not in WINDOW_GAMMA:
    raise SpecInvError(
        f"init='pghi' needs a bell-shaped window; window={config.window!r} has no Gaussian "
        f"counterpart. Use one of {sorted(WINDOW_GAMMA)} or init='random'.")
  return WINDOW_GAMMA[config.window] * config.win_length ** 2


def pghi_phase(magnitude, config, tolerance=None, seed=0):
  """Phases (radians) for STFT magnitudes, in the config's own STFT convention.

  Args:
    magnitude: Non-negative array `[batch, frames, n_bins]` (internal layout),
      linear magnitudes (power 1).
    config: The `SpectrogramConfig` of the STFT (hop, FFT size, window and
      where it sits in the frame).
    tolerance: Coefficients below `tolerance * max` (per example) are not
      integrated; they get a random phase. Default `default_tolerance(config)`.
    seed: Seed for those random phases.

  Returns:
    float64 array `[batch, frames, n_bins]`.

  Raises:
    SpecInvError: for a window PGHI cannot model.
  """
  s = np.asarray(magnitude, np.float64)
  gamma = window_gamma(config)
  tolerance = default_tolerance(config) if tolerance is None else tolerance
  hop, fft_size = config.hop_length, config.n_fft
  peak = s.max(axis=(1, 2), keepdims=True)
  floor = tolerance * np.where(peak > 0, peak, 1.0)
  usable = s > floor
  log_s = np.log(np.maximum(s, floor))
  time_step, freq_step = _phase_steps(log_s, gamma, hop, fft_size)
  sources = _time_sources(s, usable)
  direction = _directions(s * usable, sources)
  roots = _roots(direction)
  phase = _integrate(time_step, freq_step, roots)
  phase = np.where(usable, phase, _noise(s.shape[1:], seed, tf.float64).numpy())
  # The formulas hold for a window centred on the frame's time origin; ours
  # starts the FFT frame `centre` samples before the window's centre.
  centre = config.window_offset + config.win_length / 2
  return phase - 2 * np.pi * centre / fft_size * np.arange(config.n_bins)


def _noise(shape, seed, dtype):
  """Random phases `[frames, n_bins]` for negligible cells: the draw of `init='random'`.

  The same for every example (a batch gives what single calls give) and for
  the NumPy and graph versions.
  """
  draw = tf.random.stateless_uniform(shape, seed=[int(seed), 0], dtype=tf.float32,
                                      alg="philox")  # The same draw under XLA.
  return tf.cast(draw, dtype) * tf.constant(2 * math.pi, dtype)


def _phase_steps(log_s, gamma, hop, fft_size):
  """Half-sums of the phase gradient between neighbours along time and frequency.

  Returns `(time_step, freq_step)`: `time_step[:, n, m]` is the phase change
  from frame n-1 to n in bin m; `freq_step[:, n, m]` from bin m-1 to m in frame n.
  """
  bins = np.arange(log_s.shape[-1])
  d_freq = np.zeros_like(log_s)
  d_freq[..., 1:-1] = (log_s[..., 2:] - log_s[..., :-2]) / 2
  d_time = np.zeros_like(log_s)
  if log_s.shape[1] > 2:
    d_time[:, 1:-1] = (log_s[:, 2:] - log_s[:, :-2]) / 2
  if log_s.shape[1] > 1:
    d_time[:, 0] = log_s[:, 1] - log_s[:, 0]
    d_time[:, -1] = log_s[:, -1] - log_s[:, -2]
  tgrad = 2 * np.pi * hop * bins / fft_size + hop * fft_size / gamma * d_freq
  tgrad[..., 0] = 0.0
  tgrad[..., -1] = 2 * np.pi * hop * bins[-1] / fft_size
  fgrad = -gamma / (hop * fft_size) * d_time
  time_step = np.zeros_like(log_s)
  time_step[:, 1:] = (tgrad[:, 1:] + tgrad[:, :-1]) / 2
  freq_step = np.zeros_like(log_s)
  freq_step[..., 1:] = (fgrad[..., 1:] + fgrad[..., :-1]) / 2
  return time_step, freq_step


def _time_sources(s, usable):
  """How early each cell can take its phase from the previous frame (its magnitude there).

  A frame with no usable predecessor starts from its largest cell.
  """
  sources = np.zeros_like(s)
  sources[:, 1:] = np.where(usable[:, :-1] & usable[:, 1:], s[:, :-1], 0.0)
  orphan = sources.max(axis=-1) <= 0
  largest = np.argmax(s, axis=-1)
  batch_idx, frame_idx = np.nonzero(orphan)
  sources[batch_idx, frame_idx, largest[batch_idx, frame_idx]] = np.inf
  return sources


def _directions(s, sources):
  """Where each cell's phase comes from: 0 time, -1 the bin below, +1 the bin above.

  The heap pops the largest available coefficient first, so a cell is reached
  through the neighbour chain whose smallest link is largest (a max-min path).
  """
  num_bins = s.shape[-1]
  from_below = np.zeros_like(s)
  from_above = np.zeros_like(s)
  for m in range(1, num_bins):
    from_below[..., m] = np.minimum(s[..., m - 1],
                                    np.maximum(sources[..., m - 1], from_below[..., m - 1]))
  for m in range(num_bins - 2, -1, -1):
    from_above[..., m] = np.minimum(s[..., m + 1],
                                    np.maximum(sources[..., m + 1], from_above[..., m + 1]))
  direction = np.where(from_below >= from_above, -1, 1)
  return np.where(sources >= np.maximum(from_below, from_above), 0, direction)


def _roots(direction):
  """For each cell, the bin of its frame whose time-integrated phase it inherits."""
  bins = np.arange(direction.shape[-1])
  is_root = direction == 0
  last_below = np.maximum.accumulate(np.where(is_root, bins, -1), axis=-1)
  first_above = np.minimum.accumulate(
      np.where(is_root, bins, bins.size)[..., ::-1], axis=-1)[..., ::-1]
  roots = np.where(direction < 0, last_below, np.where(direction > 0, first_above, bins))
  return np.clip(roots, 0, bins.size - 1)


def _integrate(time_step, freq_step, roots):
  """Phases frame by frame: roots along time, the rest along frequency from their root."""
  cumulative = np.cumsum(freq_step, axis=-1)
  batch, frames, _ = time_step.shape
  rows = np.arange(batch)[:, None]
  phase = np.zeros_like(time_step)
  previous = np.zeros(time_step.shape[::2])
  for n in range(frames):
    along_time = previous + time_step[:, n]
    root = roots[:, n]
    current = along_time[rows, root] + cumulative[:, n] - cumulative[rows, n, root]
    phase[:, n] = current
    previous = current
  return phase


# ------------------------------------------------------------ graph version
def pghi_phase_graph(magnitude, config, tolerance=None, seed=0):
  """`pghi_phase` as TensorFlow ops (for `tf.function`s, `tf.data` and SavedModels).

  Args:
    magnitude: Non-negative float Tensor `[batch, frames, n_bins]`.
    config: The `SpectrogramConfig` of the STFT.
    tolerance: As in `pghi_phase`.
    seed: Seed of the random phase of negligible cells (Python int).

  Returns:
    Tensor `[batch, frames, n_bins]` of `magnitude.dtype`, the phase in
    radians (wrapped to [0, 2 pi) frame by frame, so float32 keeps its
    precision over long inputs).

  Raises:
    SpecInvError: for a window PGHI cannot model.
  """
  gamma = window_gamma(config)
  tolerance = default_tolerance(config) if tolerance is None else tolerance
  s = tf.convert_to_tensor(magnitude)
  dtype = s.dtype
  hop, fft_size, num_bins = config.hop_length, config.n_fft, config.n_bins
  peak = tf.reduce_max(s, axis=[1, 2], keepdims=True)
  floor = tf.constant(tolerance, dtype) * tf.where(peak > 0, peak, tf.ones_like(peak))
  usable = s > floor
  log_s = tf.math.log(tf.maximum(s, floor))
  time_step, freq_step = _phase_steps_graph(log_s, gamma, hop, fft_size, num_bins)
  sources = _time_sources_graph(s, usable)
  direction = _directions_graph(s * tf.cast(usable, dtype), sources)
  roots = _roots_graph(direction, num_bins)
  phase = _integrate_graph(time_step, freq_step, roots)
  phase = tf.where(usable, phase, _noise(tf.shape(s)[1:], seed, dtype))
  centre = config.window_offset + config.win_length / 2
  shift = tf.constant(2 * np.pi * centre / fft_size * np.arange(num_bins), dtype)
  return phase - shift


def _shift(x, offset, fill):
  """`x` moved `offset` places along the last axis (positive: towards higher bins)."""
  pad = tf.fill(tf.concat([tf.shape(x)[:-1], [abs(offset)]], 0), tf.cast(fill, x.dtype))
  if offset > 0:
    return tf.concat([pad, x[..., :-offset]], -1)
  return tf.concat([x[..., -offset:], pad], -1)


def _phase_steps_graph(log_s, gamma, hop, fft_size, num_bins):
  dtype = log_s.dtype
  zero = tf.zeros_like(log_s[..., :1])
  d_freq = tf.concat([zero, (log_s[..., 2:] - log_s[..., :-2]) / 2, zero], -1)
  frames = tf.shape(log_s)[1]
  ahead = tf.concat([log_s[:, 1:], log_s[:, -1:]], 1)
  behind = tf.concat([log_s[:, :1], log_s[:, :-1]], 1)
  # Centred differences inside, one-sided at the first and last frame.
  span = tf.maximum(2.0 - tf.one_hot(0, frames, dtype=dtype) -
                    tf.one_hot(frames - 1, frames, dtype=dtype), 1.0)
  d_time = (ahead - behind) / span[None, :, None]
  bins = np.arange(num_bins)
  base = 2 * np.pi * hop * bins / fft_size
  slope = np.full(num_bins, hop * fft_size / gamma)
  slope[[0, -1]] = 0.0
  base[0] = 0.0
  tgrad = tf.constant(base, dtype) + tf.constant(slope, dtype) * d_freq
  fgrad = -tf.constant(gamma / (hop * fft_size), dtype) * d_time
  time_step = tf.concat([tf.zeros_like(tgrad[:, :1]), (tgrad[:, 1:] + tgrad[:, :-1]) / 2], 1)
  freq_step = tf.concat([zero, (fgrad[..., 1:] + fgrad[..., :-1]) / 2], -1)
  return time_step, freq_step


def _time_sources_graph(s, usable):
  both = tf.logical_and(usable[:, :-1], usable[:, 1:])
  sources = tf.concat([tf.zeros_like(s[:, :1]), tf.where(both, s[:, :-1], tf.zeros_like(s[:, 1:]))],
                      1)
  orphan = tf.reduce_max(sources, axis=-1, keepdims=True) <= 0
  largest = tf.one_hot(tf.argmax(s, axis=-1), tf.shape(s)[-1], dtype=s.dtype) > 0
  infinity = tf.fill(tf.shape(s), tf.constant(np.inf, s.dtype))
  return tf.where(tf.logical_and(orphan, largest), infinity, sources)


def _directions_graph(s, sources):
  bins_first = lambda x: tf.transpose(x, [2, 0, 1])
  s_t, src_t = bins_first(s), bins_first(sources)
  step = lambda carry, cell: tf.minimum(cell[0], tf.maximum(cell[1], carry))
  start = tf.zeros_like(s_t[0])
  from_below = tf.concat([start[None], tf.scan(step, (s_t[:-1], src_t[:-1]), start)], 0)
  from_above = tf.concat([tf.scan(step, (s_t[1:], src_t[1:]), start, reverse=True),
                          start[None]], 0)
  from_below, from_above = [tf.transpose(x, [1, 2, 0]) for x in (from_below, from_above)]
  direction = tf.where(from_below >= from_above, -1, 1)
  return tf.where(sources >= tf.maximum(from_below, from_above), 0, direction)


def _cumulative_max(x, num_bins, reverse=False):
  """Running maximum along the last axis by doubling (log2(num_bins) steps)."""
  offset = 1
  while offset < num_bins:
    x = tf.maximum(x, _shift(x, -offset if reverse else offset, tf.reduce_min(x)))
    offset *= 2
  return x


def _roots_graph(direction, num_bins):
  bins = tf.range(num_bins)
  is_root = tf.equal(direction, 0)
  last_below = _cumulative_max(tf.where(is_root, bins, -1), num_bins)
  first_above = -_cumulative_max(tf.where(is_root, -bins, -num_bins), num_bins, reverse=True)
  roots = tf.where(direction < 0, last_below, tf.where(direction > 0, first_above, bins))
  return tf.clip_by_value(roots, 0, num_bins - 1)


def _integrate_graph(time_step, freq_step, roots):
  cumulative = tf.cumsum(freq_step, axis=-1)
  frames_first = lambda x: tf.transpose(x, [1, 0, 2])
  two_pi = tf.constant(2 * np.pi, time_step.dtype)

  def frame(previous, cells):
    step, cum, root = cells
    along_time = previous + step
    current = (tf.gather(along_time, root, batch_dims=1) + cum -
               tf.gather(cum, root, batch_dims=1))
    return tf.math.floormod(current, two_pi)

  start = tf.zeros_like(time_step[:, 0])
  phases = tf.scan(frame, (frames_first(time_step), frames_first(cumulative),
                           frames_first(roots)), start)
  return frames_first(phases)

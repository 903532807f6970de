"""Quality measures and the objectives the optimiser minimises.

Measures (per example, reduced over the last two axes):
  spectral convergence `||S_hat - S||_F / ||S||_F` (often quoted in dB,
  `20 log10`), and log-spectral distance in dB.

Objectives compare a representation in a *domain* that weighs errors:
  'linear'      the values themselves (power or magnitude, mel or not);
  'compressed'  magnitudes raised to `compression` (|X|^p, Decorsiere et al. 2015);
  'mixed'       'linear' plus `MIXED_WEIGHT` times 'compressed': the linear term
                drives spectral convergence, the compressed one quiet detail;
  'log'         `log(value + floor)`, floor relative to the target's peak;
  'native'      the config's own representation (dB/log scale, MFCC).
"""

import tensorflow as tf

__all__ = ["spectral_convergence", "spectral_convergence_db", "log_spectral_distance",
           "DOMAINS", "to_domain", "relative_squared_error", "floor_aware_residual"]

DOMAINS = ("linear", "compressed", "mixed", "log", "native")
_LOG_FLOOR = 1e-5
MIXED_WEIGHT = 0.3


def _sum2(x):
  return tf.reduce_sum(tf.square(x), axis=[-2, -1])


def spectral_convergence(estimate, target):
  """Spectral convergence `||estimate - target||_F / ||target||_F` over the last two axes.

  Args:
    estimate: float Tensor or array `[..., bins, frames]` (any layout: only
      the last two axes are reduced); cast to the target's dtype.
    target: float Tensor or array of the same shape.

  Returns:
    Tensor `[...]` of the target's dtype: 0 for a perfect match, 1 for an
    all-zero estimate.

  Example:
    >>> float(spectral_convergence(np.ones([4, 5]) * 0.9, np.ones([4, 5])))
    0.1 (to float precision)
  """
  target = tf.convert_to_tensor(target)
  estimate = tf.cast(estimate, target.dtype)
  tiny = tf.constant(1e-30, target.dtype)
  return tf.sqrt(_sum2(estimate - target) / tf.maximum(_sum2(target), tiny))


def spectral_convergence_db(estimate, target):
  """Spectral convergence in dB, `20 log10(||estimate - target||_F / ||target||_F)`.

  Lower is better: -40 dB means an error of 1% of the target's norm. This is
  the figure `ReconstructionResult.spectral_convergence_db` reports.

  Args:
    estimate: float Tensor or array `[..., bins, frames]`.
    target: float Tensor or array of the same shape.

  Returns:
    Tensor `[...]` in dB (floored at -240 dB for an exact match).

  Example:
    >>> float(spectral_convergence_db(np.ones([4, 5]) * 0.99, np.ones([4, 5])))
    -40.0 (to float precision)
  """
  sc = spectral_convergence(estimate, target)
  return 20.0 * tf.math.log(tf.maximum(sc, 1e-12)) / tf.math.log(tf.constant(10.0, sc.dtype))


def log_spectral_distance(estimate, target, power=2.0, floor=1e-10):
  """Log-spectral distance in dB: `mean_frames sqrt(mean_bins (10 log10(P_hat / P))^2)`.

  Args:
    estimate: Non-negative Tensor `[..., bins, frames]` (magnitude or power).
    target: Same shape as `estimate`.
    power: 1 if the inputs are magnitudes, 2 if powers.
    floor: Floor on the power, relative to the target's per-example peak.

  Returns:
    Tensor `[...]` in dB.

  Example:
    >>> float(log_spectral_distance(np.full([4, 5], 2.0), np.ones([4, 5])))   # powers
    3.0103 (10 log10 2)
  """
  target = tf.convert_to_tensor(target)
  estimate = tf.cast(estimate, target.dtype)
  to_power = lambda v: v * v if power == 1 else v
  p_target, p_est = to_power(target), to_power(estimate)
  eps = floor * tf.reduce_max(p_target, axis=[-2, -1], keepdims=True) + 1e-30
  diff = 10.0 * (tf.math.log(p_est + eps) - tf.math.log(p_target + eps)) / tf.math.log(
      tf.constant(10.0, target.dtype))
  per_frame = tf.sqrt(tf.reduce_mean(tf.square(diff), axis=-2))
  return tf.reduce_mean(per_frame, axis=-1)


def to_domain(values, config, domain, compression, reference):
  """Map linear-domain values (`|X|^power`, mel or not) into a loss domain.

  Args:
    values: Non-negative Tensor `[batch, frames, features]`.
    config: A `SpectrogramConfig` (its `power` tells magnitudes from powers).
    domain: 'linear', 'compressed' or 'log' ('native' is handled by the caller).
    compression: Exponent on magnitudes for 'compressed'.
    reference: Per-example peak of the target, `[batch, 1, 1]`, setting floors.

  Returns:
    Tensor of the same shape.
  """
  if domain == "linear":
    return values
  floor = reference * tf.constant(_LOG_FLOOR, values.dtype)
  if domain == "log":
    return tf.math.log(values + floor)
  exponent = tf.constant(compression / config.power, values.dtype)
  return tf.pow(values + floor * 1e-3, exponent)


def relative_squared_error(estimate, target):
  """`||estimate - target||^2 / ||target||^2` per example `[batch]`."""
  return _sum2(estimate - target) / tf.maximum(_sum2(target), tf.constant(1e-30, target.dtype))


def floor_aware_residual(estimate, target, tolerance=1e-4, mask=None, ceiling=False):
  """`estimate - target`, one-sided where the target sits at its per-example floor.

  Cells of a clipped dB spectrogram (or one floored at `amin`) equal to the
  minimum only say "at most this": an estimate below them costs nothing.
  With `ceiling`, cells equal to the maximum (values clipped at an upper
  bound, as TTS toolkits' `clip_norm`) only say "at least this": an estimate
  above them costs nothing.

  Args:
    estimate: Tensor `[batch, frames, features]`.
    target: Same shape.
    tolerance: Cells within `tolerance * (max - min)` of the minimum count as floored.
    mask: Optional 0/1 Tensor broadcastable to the target (e.g. `[batch, frames, 1]`):
      the minimum and maximum are taken over cells where it is 1 only.
    ceiling: Also treat cells within `tolerance * (max - min)` of the
      maximum as lower bounds.

  Returns:
    The residual, same shape.
  """
  low_cells = high_cells = target
  if mask is not None:
    inside = tf.broadcast_to(mask > 0, tf.shape(target))
    low_cells = tf.where(inside, target, tf.reduce_max(target))
    high_cells = tf.where(inside, target, tf.reduce_min(target))
  low = tf.reduce_min(low_cells, axis=[-2, -1], keepdims=True)
  high = tf.reduce_max(high_cells, axis=[-2, -1], keepdims=True)
  floored = target <= low + tf.constant(tolerance, target.dtype) * (high - low)
  residual = estimate - target
  residual = tf.where(floored, tf.nn.relu(residual), residual)
  if ceiling:
    capped = target >= high - tf.constant(tolerance, target.dtype) * (high - low)
    residual = tf.where(capped & ~floored, -tf.nn.relu(-residual), residual)
  return residual

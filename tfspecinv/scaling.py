"""Amplitude scales: dB (librosa `power_to_db` / `amplitude_to_db`), log, log1p, and inverses.

Any scale may be followed by an affine map `x * affine_scale + affine_offset`
(Whisper's `(x + 4) / 4`); the 'log' scale takes any base and an optional
floor `log_range` below the per-example maximum (Whisper's `max - 8`).

Then a per-feature standardisation `(x - feature_mean) / feature_scale` (a
TTS model's stats file) and a clip to `clip_range` (Coqui TTS, keithito
tacotron, Real-Time-Voice-Cloning), in that order:

  stored = clip((scale(S) * affine_scale + affine_offset - mean) / std)

All reductions (`ref='max'`, `top_db`) are per example, over the last two
axes, whatever the layout. librosa takes the maximum over the whole array,
which is the same thing for a single spectrogram.
"""

import math

import tensorflow as tf

__all__ = ["scale_amplitude", "unscale_amplitude", "db_multiplier"]


def db_multiplier(config):
  """10 for power spectrograms, 20 for magnitudes."""
  return 10.0 if config.power == 2 else 20.0


def _per_example_max(x):
  return tf.reduce_max(x, axis=[-2, -1], keepdims=True)


def _log10(x):
  return tf.math.log(x) / tf.constant(math.log(10.0), x.dtype)


def scale_amplitude(spectrogram, config, name=None, feature_axis=None):
  """Linear magnitudes or powers to `config.scale`.

  Args:
    spectrogram: Non-negative float Tensor `[..., bins, frames]` (either layout),
      magnitude if `config.power == 1`, power if 2.
    config: A `SpectrogramConfig`.
    name: Optional name scope.
    feature_axis: Axis of the features (bins or mels), -2 or -1, for
      `feature_mean` / `feature_scale`; default the config's layout's (-2
      for 'bins_frames', -1 for 'frames_bins').

  Returns:
    Tensor of the same shape and dtype: unchanged for 'linear';
    `m * log10(max(amin, S)) - m * log10(max(amin, ref))` clipped to `top_db`
    below the per-example maximum for 'db' (m = 10 or 20, as
    `librosa.power_to_db` / `amplitude_to_db`);
    `log_base(max(S + log_offset, amin))` raised to at least the per-example
    maximum minus `log_range` (if set) for 'log'; `log1p(S)` for 'log1p'.
    Then `* affine_scale + affine_offset`, `(. - feature_mean) /
    feature_scale` and the clip to `clip_range`, where set.

  Example:
    >>> cfg = SpectrogramConfig.librosa(scale="db")             # power_to_db, top_db 80
    >>> scale_amplitude(np.array([[1.0, 1e-3]]), cfg).numpy()
    array([[  0., -30.]])
  """
  with tf.name_scope(name or "scale_amplitude"):
    s = tf.convert_to_tensor(spectrogram)
    values = _standardize(_affine(_scale(s, config), config), config,
                          _feature_axis(config, feature_axis))
    if config.clip_range is not None:
      low, high = config.clip_range
      values = tf.clip_by_value(values, tf.constant(low, values.dtype),
                                tf.constant(high, values.dtype))
    return values


def _feature_axis(config, feature_axis):
  if feature_axis is None:
    return -2 if config.layout == "bins_frames" else -1
  if feature_axis not in (-2, -1):
    from tfspecinv.errors import SpecInvError  # pylint: disable=import-outside-toplevel
    raise SpecInvError(f"feature_axis={feature_axis!r} must be -2 or -1.")
  return feature_axis


def _feature_vector(values, dtype, axis):
  """A `[features]` tuple as a Tensor broadcasting along `axis` (-2 or -1)."""
  vector = tf.constant(values, dtype)
  return vector[:, tf.newaxis] if axis == -2 else vector


def _standardize(values, config, axis):
  """`(values - feature_mean) / feature_scale` along the feature axis (skipped when unset)."""
  if config.feature_mean is not None:
    values = values - _feature_vector(config.feature_mean, values.dtype, axis)
  if config.feature_scale is not None:
    values = values / _feature_vector(config.feature_scale, values.dtype, axis)
  return values


def _unstandardize(values, config, axis):
  """Inverse of `_standardize`."""
  if config.feature_scale is not None:
    values = values * _feature_vector(config.feature_scale, values.dtype, axis)
  if config.feature_mean is not None:
    values = values + _feature_vector(config.feature_mean, values.dtype, axis)
  return values


def _affine(values, config):
  """`values * affine_scale + affine_offset` (skipped for the identity)."""
  if config.affine_scale != 1.0:
    values = values * tf.constant(config.affine_scale, values.dtype)
  if config.affine_offset != 0.0:
    values = values + tf.constant(config.affine_offset, values.dtype)
  return values


def _unaffine(values, config):
  """Inverse of `_affine`."""
  if config.affine_offset != 0.0:
    values = values - tf.constant(config.affine_offset, values.dtype)
  if config.affine_scale != 1.0:
    values = values / tf.constant(config.affine_scale, values.dtype)
  return values


def _log(s, config):
  """`log_base(max(S + log_offset, amin))`, floored `log_range` below the per-example maximum."""
  dtype = s.dtype
  floored = tf.maximum(s + tf.constant(config.log_offset, dtype), tf.constant(config.amin, dtype))
  values = tf.math.log(floored)
  if config.log_base != math.e:
    values = values / tf.constant(math.log(config.log_base), dtype)
  if config.log_range is not None:
    values = tf.maximum(values, _per_example_max(values) - tf.constant(config.log_range, dtype))
  return values


def _scale(s, config):
  """`scale_amplitude` before the affine map."""
  dtype = s.dtype
  if config.scale == "linear":
    return s
  if config.scale == "log1p":
    return tf.math.log1p(s)
  if config.scale == "log":
    return _log(s, config)
  amin = tf.constant(config.amin, dtype)
  m = tf.constant(db_multiplier(config), dtype)
  db = m * _log10(tf.maximum(amin, s))
  if config.ref == "max":
    db -= m * _log10(tf.maximum(amin, _per_example_max(s)))
  else:
    db -= m * _log10(tf.maximum(amin, tf.constant(config.ref, dtype)))
  if config.top_db is not None:
    db = tf.maximum(db, _per_example_max(db) - tf.constant(config.top_db, dtype))
  return db


def unscale_amplitude(values, config, name=None, feature_axis=None):
  """Inverse of `scale_amplitude` (up to clipping and the `amin` floor).

  With `ref='max'` the absolute gain was not stored; the result is relative
  to a maximum of 1. Values clipped to `clip_range` come back as the bound's
  level (what was above the upper bound is not known).

  Args:
    values: float Tensor in `config.scale`.
    config: A `SpectrogramConfig`.
    name: Optional name scope.
    feature_axis: Axis of the features, as in `scale_amplitude`.

  Returns:
    Non-negative linear magnitudes (power 1) or powers (power 2), same shape.

  Example:
    >>> cfg = SpectrogramConfig.librosa(scale="db")
    >>> unscale_amplitude(np.array([[0.0, -30.0]]), cfg).numpy()
    array([[1.   , 0.001]])
  """
  with tf.name_scope(name or "unscale_amplitude"):
    v = tf.convert_to_tensor(values)
    v = _unaffine(_unstandardize(v, config, _feature_axis(config, feature_axis)), config)
    dtype = v.dtype
    if config.scale == "linear":
      return v
    if config.scale == "log1p":
      return tf.nn.relu(tf.math.expm1(v))
    if config.scale == "log":
      if config.log_base != math.e:
        v = v * tf.constant(math.log(config.log_base), dtype)
      return tf.nn.relu(tf.exp(v) - tf.constant(config.log_offset, dtype))
    ref = 1.0 if config.ref == "max" else config.ref
    m = tf.constant(db_multiplier(config), dtype)
    return tf.constant(ref, dtype) * tf.pow(tf.constant(10.0, dtype), v / m)

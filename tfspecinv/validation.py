"""Checks of a user's spectrogram array against its config, in NumPy only.

Kept free of TensorFlow so the command line can reject a bad file in a
fraction of a second, before paying for TensorFlow's import.
"""

import warnings

import numpy as np

from tfspecinv.errors import SpecInvError

__all__ = ["check_spectrogram"]

_WHAT = {"stft": "frequency bins", "mel": "mel bands", "mfcc": "MFCC coefficients"}


def check_spectrogram(array, config):
  """Raise `SpecInvError` naming the problem and the fix, or return None.

  Args:
    array: NumPy array `[..., features, frames]` (or `[..., frames, features]`
      with `config.layout='frames_bins'`).
    config: A `SpectrogramConfig`.

  Raises:
    SpecInvError: complex or non-numeric data, fewer than 2 dimensions, no
      values, NaN/Inf, a feature count the config does not expect, or
      negative values where magnitudes/powers are expected.
  """
  if array.dtype.kind == "c":
    raise SpecInvError(
        "the spectrogram is complex; pass magnitudes (np.abs(S)) or use tfspecinv.istft "
        "when you have the phase.")
  if array.dtype.kind not in "fiu":
    raise SpecInvError(f"the spectrogram has dtype {array.dtype}; pass a numeric array.")
  if array.ndim < 2:
    raise SpecInvError(
        f"the spectrogram has shape {array.shape}; it needs at least 2 dimensions "
        f"[..., {'bins, frames' if config.layout == 'bins_frames' else 'frames, bins'}].")
  if array.size == 0:
    raise SpecInvError(f"the spectrogram is empty (shape {array.shape}).")
  bad = ~np.isfinite(array)
  if bad.any():
    raise SpecInvError(
        f"the spectrogram contains {int(np.isnan(array).sum())} NaN and "
        f"{int(np.isinf(array).sum())} infinite values; fix the source or replace them "
        "(e.g. np.nan_to_num) before inverting.")
  feature_axis = -2 if config.layout == "bins_frames" else -1
  frame_axis = -1 if config.layout == "bins_frames" else -2
  features = array.shape[feature_axis]
  if features != config.n_features:
    raise SpecInvError(_feature_mismatch(array.shape, features, array.shape[frame_axis], config))
  plain = (config.affine_scale, config.affine_offset) == (1.0, 0.0) and config.feature_mean is None
  if config.clip_range is not None:
    _warn_about_clipping(array, config)
  if (config.scale == "linear" and plain and config.representation != "mfcc" and
      (array < 0).any()):
    raise SpecInvError(
        f"the spectrogram has negative values (min {array.min():g}) but scale='linear' means "
        "magnitudes or powers, which are >= 0; set scale='db'/'log' if it is log-scaled.")


# Share of values on the upper clip bound from which a warning is given.
_CLIPPED_SHARE = 0.05


def _warn_about_clipping(array, config):
  """Warn when many values sit on the upper `clip_range` bound (their level is unknown)."""
  low, high = config.clip_range
  share = float(np.mean(array >= high - 1e-6 * (high - low)))
  if share >= _CLIPPED_SHARE:
    warnings.warn(
        f"{share:.0%} of the values sit on the upper clip bound {high:g}: the source was louder "
        "than the range holds, so their level is only known to be at least that (the "
        "reconstruction treats them as lower bounds); if the clip was not in the recipe, check "
        "the normalisation (e.g. ref_level_db, min_level_db, max_norm).", UserWarning,
        stacklevel=3)


def _feature_mismatch(shape, features, other, config):
  message = (f"the spectrogram of shape {tuple(shape)} has {features} "
             f"{_WHAT[config.representation]} but the config expects {config.n_features}")
  if config.representation == "stft":
    message += f" (n_fft={config.n_fft})"
  if other == config.n_features:
    alt = "frames_bins" if config.layout == "bins_frames" else "bins_frames"
    return message + f"; the other axis matches: is the layout {alt!r}?"
  if config.representation == "stft":
    return message + f"; {features} bins mean n_fft={2 * (features - 1)}: set n_fft."
  name = "n_mels" if config.representation == "mel" else "n_mfcc"
  return message + f"; set {name}={features} or check the layout."

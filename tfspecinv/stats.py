"""Per-feature mean and scale files (feature standardisation of TTS mels).

TTS toolkits store mels standardised per feature, `(x - mean) / scale`, with
the statistics in a file beside the model. `read_stats` reads the formats
they save:

* `.npy` of shape `[2, features]`: row 0 the mean, row 1 the scale, as
  TensorFlowTTS saves `np.stack([scaler.mean_, scaler.scale_])` of a
  scikit-learn `StandardScaler` (`tensorflow_tts/bin/preprocess.py`).
* `.npz` with arrays `mean` and `scale` (or `std`), or `mean` and `var`
  (scale `sqrt(var)`).
* `.npz` with ESPnet's `count`, `sum`, `sum_square` (`feats_stats.npz` of
  `collect_stats`): mean `sum / count`, scale
  `sqrt(max(sum_square / count - mean^2, 1e-20))`, as ESPnet's `GlobalMVN`
  (`espnet2/layers/global_mvn.py`).

>>> stats = read_stats("stats.npy", n_features=80)       # doctest: +SKIP
>>> config = conventions.make("tensorflowtts", feature_mean=stats.mean,
...                           feature_scale=stats.scale)  # doctest: +SKIP

NumPy only (no TensorFlow), so the command line checks the file before it
loads TensorFlow.
"""

import collections
import contextlib
import os

import numpy as np

from tfspecinv.errors import SpecInvError

__all__ = ["FeatureStats", "read_stats", "stats_from_arrays", "ESPNET_VAR_FLOOR"]

# ESPnet GlobalMVN's `eps`: the variance is floored at it before the square root.
ESPNET_VAR_FLOOR = 1e-20

FeatureStats = collections.namedtuple("FeatureStats", ["mean", "scale", "kind"])
FeatureStats.__doc__ = """Per-feature statistics read from a file.

Fields:
  mean: Tuple of `features` floats, subtracted from each feature.
  scale: Tuple of `features` floats > 0, dividing each feature.
  kind: Where they came from: 'mean_scale' (`.npy` [2, F] or `.npz`
    mean/scale), 'mean_var' (`.npz` mean/var) or 'espnet' (count/sum/sum_square).
"""

_FIX = ("save it as .npy of shape [2, features] (mean, scale), or .npz with 'mean' and "
        "'scale' (or 'var'), or ESPnet's 'count', 'sum', 'sum_square'")


def read_stats(path, n_features=None):
  """The mean and scale of each feature stored in `path` (.npy or .npz).

  Args:
    path: A `.npy` file `[2, features]` or a `.npz` file (see the module doc).
    n_features: The feature count the spectrogram has (e.g. `n_mels`); None
      skips the check.

  Returns:
    A `FeatureStats` (mean, scale as tuples of Python floats).

  Raises:
    SpecInvError: a missing or unreadable file, another layout, a
      non-float dtype, non-finite values, a scale <= 0, or a feature count
      other than `n_features`; the message names the file and the fix.
  """
  ext = os.path.splitext(path)[1].lower()
  if ext not in (".npy", ".npz"):
    raise SpecInvError(f"{path}: statistics must be a .npy or .npz file, not "
                       f"{ext or '(no extension)'!r}; {_FIX}.")
  if not os.path.isfile(path):
    raise SpecInvError(f"{path}: no such statistics file; check the --stats path.")
  try:
    loaded = np.load(path, allow_pickle=False)
  except ValueError as error:
    if "allow_pickle" in str(error):
      raise SpecInvError(
          f"{path}: holds pickled Python objects (Coqui TTS's scale_stats.npy is a pickled "
          "dict), which are not loaded; save the arrays instead, e.g. d = np.load(path, "
          "allow_pickle=True).item(); np.save('stats.npy', np.stack([d['mel_mean'], "
          "d['mel_std']])).") from None
    raise SpecInvError(f"{path}: cannot read the statistics ({str(error).splitlines()[0]}); "
                       "is the file corrupt or truncated?") from None
  except (OSError, EOFError) as error:
    raise SpecInvError(f"{path}: cannot read the statistics ({str(error).splitlines()[0]}); "
                       "is the file corrupt or truncated?") from None
  if isinstance(loaded, np.ndarray):
    arrays = {"stacked": loaded}
  else:
    with contextlib.closing(loaded):
      try:
        arrays = {name: loaded[name] for name in loaded.files}
      except (ValueError, OSError, EOFError) as error:
        raise SpecInvError(f"{path}: cannot read the statistics "
                           f"({str(error).splitlines()[0]}).") from None
  return stats_from_arrays(arrays, path, n_features)


def _float_array(array, path, what):
  array = np.asarray(array)
  if not (np.issubdtype(array.dtype, np.floating) or
          (what in ("count", "sum", "sum_square") and np.issubdtype(array.dtype, np.integer))):
    raise SpecInvError(f"{path}: {what} has dtype {array.dtype}; statistics must be floating "
                       f"point (float32 or float64): {_FIX}.")
  array = array.astype(np.float64)
  bad = int(np.sum(~np.isfinite(array)))
  if bad:
    raise SpecInvError(f"{path}: {what} holds {bad} NaN or infinite values; recompute the "
                       "statistics.")
  return array


def _vector(array, path, what):
  array = _float_array(array, path, what)
  if array.ndim != 1 or array.size == 0:
    raise SpecInvError(f"{path}: {what} has shape {array.shape}; it must be one value per "
                       f"feature, shape [features]: {_FIX}.")
  return array


def stats_from_arrays(arrays, path="statistics", n_features=None):
  """`read_stats` of arrays already loaded: `{'stacked': [2, F]}` or the `.npz` names.

  Args:
    arrays: dict name -> array: 'stacked' (the `.npy` `[2, F]`), or 'mean' with
      'scale' / 'std' / 'var', or 'count', 'sum', 'sum_square'.
    path: The file's name, for messages.
    n_features: The expected feature count, or None.

  Returns:
    A `FeatureStats`.

  Raises:
    SpecInvError: as `read_stats`.
  """
  names = set(arrays)
  if names == {"stacked"}:
    stacked = _float_array(arrays["stacked"], path, "the array")
    if stacked.ndim != 2 or stacked.shape[0] != 2 or stacked.shape[1] == 0:
      hint = ""
      if stacked.ndim == 2 and stacked.shape[1] == 2:
        hint = " (it looks transposed: save stats.T)"
      raise SpecInvError(f"{path}: the array has shape {stacked.shape}; a .npy statistics file "
                         f"is [2, features], mean then scale{hint}: {_FIX}.")
    mean, scale, kind = stacked[0], stacked[1], "mean_scale"
  elif {"count", "sum", "sum_square"} <= names:
    count = _float_array(arrays["count"], path, "count")
    if count.size != 1 or not float(count.ravel()[0]) > 0:
      raise SpecInvError(f"{path}: count is {count.ravel()[:3].tolist()}; ESPnet statistics "
                         "hold one positive frame count: recompute them with collect_stats.")
    count = float(count.ravel()[0])
    total = _vector(arrays["sum"], path, "sum")
    square = _vector(arrays["sum_square"], path, "sum_square")
    if total.shape != square.shape:
      raise SpecInvError(f"{path}: sum has shape {total.shape} but sum_square "
                         f"{square.shape}; they must match.")
    mean = total / count
    scale = np.sqrt(np.maximum(square / count - mean * mean, ESPNET_VAR_FLOOR))
    kind = "espnet"
  elif "mean" in names and names & {"scale", "std", "var"}:
    mean = _vector(arrays["mean"], path, "mean")
    if "var" in names and not names & {"scale", "std"}:
      var = _vector(arrays["var"], path, "var")
      if np.any(var < 0):
        raise SpecInvError(f"{path}: var has {int(np.sum(var < 0))} negative values; a "
                           "variance is >= 0: recompute the statistics.")
      scale, kind = np.sqrt(var), "mean_var"
    else:
      name = "scale" if "scale" in names else "std"
      scale, kind = _vector(arrays[name], path, name), "mean_scale"
    if mean.shape != scale.shape:
      raise SpecInvError(f"{path}: mean has {mean.size} features but the scale "
                         f"{scale.size}; they must match.")
  else:
    raise SpecInvError(f"{path}: arrays {', '.join(sorted(names)) or '(none)'} are not "
                       f"statistics; {_FIX}.")
  if n_features is not None and mean.size != n_features:
    raise SpecInvError(f"{path}: the statistics have {mean.size} features but the spectrogram "
                       f"has {n_features}; use the statistics of the model that made it (or "
                       f"set --n_mels={mean.size} if that is the model's).")
  bad = np.flatnonzero(~(scale > 0))
  if bad.size:
    raise SpecInvError(f"{path}: the scale of feature(s) {bad[:5].tolist()} is "
                       f"{scale[bad[:5]].tolist()}; every scale must be > 0 (row 1 of a .npy "
                       "is the standard deviation, not the variance or an index).")
  return FeatureStats(tuple(float(v) for v in mean), tuple(float(v) for v in scale), kind)

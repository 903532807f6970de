"""tfspecinv.stats: statistics files as TensorFlowTTS, scikit-learn and ESPnet save them.

References, in float64 NumPy written here:
* TensorFlowTTS `tensorflow_tts/bin/preprocess.py` `save_statistics_to_file`:
  `np.save("stats.npy", np.stack((scaler.mean_, scaler.scale_)).astype(np.float32))`
  of a scikit-learn `StandardScaler` partially fitted on `[frames, mels]` arrays
  (mean and population standard deviation over all frames).
* ESPnet `espnet2/layers/global_mvn.py` `GlobalMVN.__init__` (npz branch):
  `mean = sum / count`, `var = sum_square / count - mean * mean`,
  `std = sqrt(maximum(var, eps))`, eps 1e-20.
"""

import numpy as np
import pytest

from tfspecinv import SpecInvError
from tfspecinv import stats as stats_lib


@pytest.fixture(scope="module")
def frames():
  """Three 'utterances' of log10 mels `[frames, 6]`, the last feature constant."""
  rng = np.random.default_rng(0)
  parts = [rng.normal(-3.0, 1.5, size=(n, 6)) + np.linspace(0, 2, 6) for n in (40, 57, 23)]
  for part in parts:
    part[:, 5] = -10.0
  return parts


def _standard_scaler_stats(parts):
  """scikit-learn StandardScaler.partial_fit over the parts: mean_, scale_ (ddof 0, 0 -> 1)."""
  allframes = np.concatenate(parts)
  mean = allframes.mean(axis=0)
  scale = allframes.std(axis=0)
  scale[scale == 0] = 1.0  # sklearn's _handle_zeros_in_scale
  return mean, scale


def test_tensorflowtts_npy_as_saved(frames, tmp_path):
  mean, scale = _standard_scaler_stats(frames)
  path = tmp_path / "stats.npy"
  np.save(path, np.stack((mean, scale)).astype(np.float32), allow_pickle=False)
  got = stats_lib.read_stats(str(path), n_features=6)
  assert got.kind == "mean_scale"
  np.testing.assert_allclose(got.mean, mean, rtol=1e-6)
  np.testing.assert_allclose(got.scale, scale, rtol=1e-6)
  assert got.scale[5] == 1.0
  assert all(isinstance(v, float) for v in got.mean + got.scale)


def test_sklearn_standard_scaler_file(frames, tmp_path):
  sklearn = pytest.importorskip("sklearn.preprocessing")
  scaler = sklearn.StandardScaler(copy=False)
  for part in frames:
    scaler.partial_fit(part.copy())
  path = tmp_path / "stats.npy"
  np.save(path, np.stack((scaler.mean_, scaler.scale_)))
  got = stats_lib.read_stats(str(path), n_features=6)
  mean, scale = _standard_scaler_stats(frames)
  np.testing.assert_allclose(got.mean, mean, rtol=1e-12, atol=1e-12)
  np.testing.assert_allclose(got.scale, scale, rtol=1e-9)
  x = frames[0]
  np.testing.assert_allclose((x - np.array(got.mean)) / np.array(got.scale),
                             scaler.transform(x.copy()), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("names", [("mean", "scale"), ("mean", "std"), ("mean", "var")])
def test_npz_mean_and_scale_or_var(frames, tmp_path, names):
  mean, scale = _standard_scaler_stats(frames)
  second = scale ** 2 if names[1] == "var" else scale
  path = tmp_path / "stats.npz"
  np.savez(path, **{names[0]: mean, names[1]: second})
  got = stats_lib.read_stats(str(path), n_features=6)
  assert got.kind == ("mean_var" if names[1] == "var" else "mean_scale")
  np.testing.assert_allclose(got.mean, mean, rtol=1e-12)
  np.testing.assert_allclose(got.scale, scale, rtol=1e-12)


def _global_mvn_reference(count, total, square, eps=1e-20):
  """ESPnet GlobalMVN: mean = sum / count, std = sqrt(max(sum_sq / count - mean^2, eps))."""
  mean = total / count
  var = square / count - mean * mean
  return mean, np.sqrt(np.maximum(var, eps))


def test_espnet_feats_stats_npz(frames, tmp_path):
  # collect_stats: count += len(feats), sum += feats.sum(0), sum_square += (feats ** 2).sum(0).
  allframes = np.concatenate(frames)
  count = np.asarray(len(allframes))
  total, square = allframes.sum(0), (allframes ** 2).sum(0)
  path = tmp_path / "feats_stats.npz"
  np.savez(path, count=count, sum=total, sum_square=square)
  got = stats_lib.read_stats(str(path), n_features=6)
  mean, std = _global_mvn_reference(count, total, square)
  assert got.kind == "espnet"
  np.testing.assert_allclose(got.mean, mean, rtol=1e-12)
  np.testing.assert_allclose(got.scale, std, rtol=1e-12)
  # The constant feature: variance 0 up to rounding, floored at 1e-20 -> std 1e-10 or more.
  assert 1e-10 <= got.scale[5] < 1e-5
  np.testing.assert_allclose(got.scale[:5], allframes[:, :5].std(0), rtol=1e-9)


# ------------------------------------------------------------------ errors
def _save(tmp_path, name, **arrays):
  path = tmp_path / name
  if name.endswith(".npy"):
    np.save(path, arrays["array"])
  else:
    np.savez(path, **arrays)
  return str(path)


@pytest.mark.parametrize("array, pattern", [
    (np.ones((80, 2), np.float32), r"shape \(80, 2\).*\[2, features\].*transposed"),
    (np.ones((3, 80), np.float32), r"shape \(3, 80\).*\[2, features\]"),
    (np.ones(80, np.float32), r"shape \(80,\).*\[2, features\]"),
    (np.ones((2, 80), np.int64), r"dtype int64.*floating point"),
    (np.ones((2, 80), np.complex64), r"dtype complex64.*floating point"),
    (np.stack([np.zeros(80), np.r_[np.ones(79), 0.0]]), r"feature\(s\) \[79\].*> 0"),
    (np.stack([np.zeros(80), -np.ones(80)]), r"feature\(s\) \[0, 1, 2, 3, 4\].*> 0"),
    (np.stack([np.r_[np.nan, np.zeros(79)], np.ones(80)]), r"1 NaN or infinite"),
    (np.ones((2, 100), np.float32), r"100 features but the spectrogram has 80.*--n_mels=100"),
])
def test_bad_npy(tmp_path, array, pattern):
  path = _save(tmp_path, "stats.npy", array=array)
  with pytest.raises(SpecInvError, match=pattern) as error:
    stats_lib.read_stats(path, n_features=80)
  assert str(error.value).startswith(path) and "\n" not in str(error.value)


@pytest.mark.parametrize("arrays, pattern", [
    (dict(mean=np.zeros(4)), r"arrays mean are not statistics.*'count'"),
    (dict(a=np.zeros(4), b=np.ones(4)), r"arrays a, b are not statistics"),
    (dict(mean=np.zeros(4), scale=np.ones(5)), r"mean has 4 features but the scale 5"),
    (dict(mean=np.zeros(4), var=-np.ones(4)), r"var has 4 negative values"),
    (dict(mean=np.zeros((2, 4)), scale=np.ones(4)), r"mean has shape \(2, 4\)"),
    (dict(count=np.asarray(0), sum=np.zeros(4), sum_square=np.ones(4)), r"count is \[0.0\]"),
    (dict(count=np.asarray(9), sum=np.zeros(4), sum_square=np.ones(3)),
     r"sum has shape \(4,\) but sum_square \(3,\)"),
])
def test_bad_npz(tmp_path, arrays, pattern):
  path = _save(tmp_path, "stats.npz", **arrays)
  with pytest.raises(SpecInvError, match=pattern):
    stats_lib.read_stats(path)


def test_missing_corrupt_and_other_files(tmp_path):
  with pytest.raises(SpecInvError, match=r"no such statistics file"):
    stats_lib.read_stats(str(tmp_path / "nope.npy"))
  corrupt = tmp_path / "stats.npy"
  corrupt.write_bytes(b"\x93NUMPY garbage")
  with pytest.raises(SpecInvError, match=r"cannot read the statistics.*corrupt"):
    stats_lib.read_stats(str(corrupt))
  text = tmp_path / "stats.txt"
  text.write_text("0 1")
  with pytest.raises(SpecInvError, match=r"must be a .npy or .npz file, not '.txt'"):
    stats_lib.read_stats(str(text))
  objects = tmp_path / "objects.npy"
  np.save(objects, {"mel_mean": np.zeros(80), "mel_std": np.ones(80)}, allow_pickle=True)
  with pytest.raises(SpecInvError, match=r"pickled Python objects \(Coqui.*np.stack"):
    stats_lib.read_stats(str(objects))

"""Mel filterbanks, mel spectrograms and mel-to-linear estimates."""

import librosa
import numpy as np
import pytest
import scipy.optimize
import tensorflow as tf

import tfspecinv as ts
from tfspecinv import SpecInvError, SpectrogramConfig
from tfspecinv import mel as mel_lib

DTYPES = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]
TOL = {np.float32: 1e-5, np.float64: 1e-10}


# ------------------------------------------------------------ filterbanks
LIBROSA_MEL_CASES = [
    pytest.param(dict(sample_rate=22050, n_fft=2048, n_mels=128, fmin=0.0, fmax=None,
                      mel_scale="slaney", mel_norm="slaney"), id="sr22050-n2048-m128-slaney"),
    pytest.param(dict(sample_rate=22050, n_fft=1024, n_mels=80, fmin=0.0, fmax=8000.0,
                      mel_scale="htk", mel_norm="none"), id="sr22050-n1024-m80-htk-nonorm"),
    pytest.param(dict(sample_rate=16000, n_fft=512, n_mels=40, fmin=300.0, fmax=7000.0,
                      mel_scale="slaney", mel_norm="none"), id="sr16000-n512-m40-slaney-nonorm"),
    pytest.param(dict(sample_rate=44100, n_fft=4096, n_mels=96, fmin=30.0, fmax=16000.0,
                      mel_scale="htk", mel_norm="slaney"), id="sr44100-n4096-m96-htk-slaneynorm"),
    # PACKAGE BUG (odd n_fft): librosa samples the triangles at np.fft.rfftfreq(n_fft, 1/sr)
    # (top bin (n_fft-1)/2 * sr/n_fft < sr/2); mel.py uses linspace(0, sr/2, n_bins).
    pytest.param(dict(sample_rate=22050, n_fft=1023, n_mels=64, fmin=0.0, fmax=None,
                      mel_scale="slaney", mel_norm="slaney"), id="sr22050-n1023odd-m64-slaney"),
]


@pytest.mark.parametrize("kwargs", LIBROSA_MEL_CASES)
def test_mel_filterbank_matches_librosa(kwargs, rel_err):
  cfg = SpectrogramConfig.librosa(representation="mel", **kwargs)
  got = ts.mel_filterbank(cfg)
  want = librosa.filters.mel(sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels,
                             fmin=cfg.fmin, fmax=kwargs["fmax"], htk=cfg.mel_scale == "htk",
                             norm=None if cfg.mel_norm == "none" else "slaney",
                             dtype=np.float64)
  assert got.dtype == np.float64 and got.shape == want.shape == (cfg.n_mels, cfg.n_bins)
  assert rel_err(got, want) <= 1e-6
  assert np.max(np.abs(got - want)) <= 1e-6 * max(1.0, np.abs(want).max())


def test_mel_filterbank_is_read_only():
  m = ts.mel_filterbank(SpectrogramConfig.librosa(n_fft=512, n_mels=40))
  with pytest.raises(ValueError):
    m[0, 0] = 1.0


TF_MEL_CASES = [
    pytest.param(dict(), id="preset-sr16000-n1024-m80-80..7600"),
    pytest.param(dict(sample_rate=22050, n_fft=512, n_mels=40, fmin=0.0, fmax=11025.0),
                 id="sr22050-n512-m40-0..nyquist"),
    pytest.param(dict(sample_rate=44100, n_fft=2048, n_mels=128, fmin=125.0, fmax=20000.0),
                 id="sr44100-n2048-m128-125..20000"),
]


@pytest.mark.parametrize("tf_dtype, atol", [pytest.param(tf.float32, 3e-5, id="tf-float32"),
                                            pytest.param(tf.float64, 1e-10, id="tf-float64")])
@pytest.mark.parametrize("kwargs", TF_MEL_CASES)
def test_tf_signal_filterbank_matches_tf_signal(kwargs, tf_dtype, atol):
  cfg = SpectrogramConfig.tf_signal(representation="mel", **kwargs)
  got = ts.mel_filterbank(cfg)
  want = tf.signal.linear_to_mel_weight_matrix(
      num_mel_bins=cfg.n_mels, num_spectrogram_bins=cfg.n_bins, sample_rate=cfg.sample_rate,
      lower_edge_hertz=cfg.fmin, upper_edge_hertz=cfg.fmax, dtype=tf_dtype)
  want = tf.cast(want, tf.float64).numpy()
  assert got.shape == want.T.shape
  # tf.signal evaluates the mel scale in float32 by default: weights (<= 1) are off by ~1e-5.
  assert np.max(np.abs(got.T - want)) <= atol


def _hz_to_mel_htk(f):
  return 2595.0 * np.log10(1.0 + np.asarray(f, np.float64) / 700.0)


def _mel_to_hz_htk(m):
  return 700.0 * (10.0 ** (np.asarray(m, np.float64) / 2595.0) - 1.0)


def _torchaudio_melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate, norm=None):
  """torchaudio.functional.melscale_fbanks (HTK scale) as documented, in NumPy float64."""
  all_freqs = np.linspace(0, sample_rate // 2, n_freqs)
  m_pts = np.linspace(_hz_to_mel_htk(f_min), _hz_to_mel_htk(f_max), n_mels + 2)
  f_pts = _mel_to_hz_htk(m_pts)
  f_diff = f_pts[1:] - f_pts[:-1]
  slopes = f_pts[None, :] - all_freqs[:, None]
  down_slopes = (-1.0 * slopes[:, :-2]) / f_diff[:-1]
  up_slopes = slopes[:, 2:] / f_diff[1:]
  fb = np.maximum(0.0, np.minimum(down_slopes, up_slopes))
  if norm == "slaney":
    fb *= 2.0 / (f_pts[2:n_mels + 2] - f_pts[:n_mels])
  return fb  # [n_freqs, n_mels]


TORCHAUDIO_MEL_CASES = [
    pytest.param(dict(), None, id="preset-sr16000-n400-m128"),
    pytest.param(dict(n_fft=1024, n_mels=64, fmin=50.0, fmax=7000.0, mel_norm="slaney"), None,
                 id="sr16000-n1024-m64-slaneynorm"),
    pytest.param(dict(sample_rate=22051, n_fft=512, n_mels=40, fmax=11025.0), None,
                 id="sr22051odd-n512-m40-fmax11025"),
    pytest.param(dict(sample_rate=22051, n_fft=512, n_mels=40, fmin=20.0, fmax=9000.0,
                      mel_norm="slaney"), None, id="sr22051odd-n512-m40-slaneynorm"),
    # PACKAGE BUG: torchaudio's f_max default is float(sample_rate // 2) (11025.0); the
    # torchaudio preset leaves fmax=None, which resolves to sample_rate / 2 (11025.5).
    pytest.param(dict(sample_rate=22051, n_fft=512, n_mels=40), float(22051 // 2),
                 id="sr22051odd-n512-m40-default-fmax"),
]


@pytest.mark.parametrize("kwargs, torch_fmax", TORCHAUDIO_MEL_CASES)
def test_torchaudio_filterbank_matches_melscale_fbanks_formula(kwargs, torch_fmax, rel_err):
  # representation is left at 'stft': torchaudio's own defaults (n_fft=400, 128 mels at
  # 16 kHz) have empty filters, which a 'mel' config rejects by design.
  cfg = SpectrogramConfig.torchaudio(**kwargs)
  f_max = torch_fmax if torch_fmax is not None else cfg.fmax
  want = _torchaudio_melscale_fbanks(cfg.n_bins, cfg.fmin, f_max, cfg.n_mels, cfg.sample_rate,
                                     norm=None if cfg.mel_norm == "none" else "slaney")
  got = ts.mel_filterbank(cfg)
  assert got.shape == want.T.shape
  assert rel_err(got.T, want) <= 1e-10


def test_torchaudio_grid_differs_from_librosa_grid_for_odd_sample_rate():
  # Guards the test above: with an odd rate the sample_rate // 2 grid really matters.
  kwargs = dict(sample_rate=22051, n_fft=512, n_mels=40, fmax=11025.0, mel_scale="htk",
                mel_norm="none", representation="mel")
  a = ts.mel_filterbank(SpectrogramConfig(mel_variant="torchaudio", **kwargs))
  b = ts.mel_filterbank(SpectrogramConfig(mel_variant="librosa", **kwargs))
  assert np.max(np.abs(a - b)) > 1e-4


def test_empty_filters_match_librosa_empty_rows():
  kwargs = dict(sample_rate=22050, n_fft=256, n_mels=128)
  cfg = SpectrogramConfig.librosa(**kwargs)  # representation='stft': no validation error
  with pytest.warns(UserWarning, match="Empty filters"):
    want = librosa.filters.mel(sr=22050, n_fft=256, n_mels=128, dtype=np.float64)
  expected = [int(i) for i in np.flatnonzero(want.max(axis=1) <= 0)]
  assert expected and mel_lib.empty_filters(cfg) == expected


# -------------------------------------------------------- mel spectrograms
MEL_SPEC_CASES = [
    pytest.param(scale, norm, power, id=f"{scale}-norm_{norm}-power{power}")
    for scale in ("slaney", "htk") for norm in ("slaney", "none") for power in (1, 2)
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mel_scale, mel_norm, power", MEL_SPEC_CASES)
def test_mel_spectrogram_matches_librosa(mel_scale, mel_norm, power, dtype, speech, batch_of,
                                         rel_err):
  audio, rate = speech
  x = batch_of(audio, (2,), 11025)
  cfg = SpectrogramConfig.librosa(sample_rate=rate, n_fft=1024, hop_length=256, n_mels=80,
                                  fmin=20.0, fmax=8000.0, mel_scale=mel_scale,
                                  mel_norm=mel_norm, power=power, representation="mel")
  kw = dict(sr=rate, n_fft=1024, hop_length=256, n_mels=80, fmin=20.0, fmax=8000.0,
            htk=mel_scale == "htk", norm=None if mel_norm == "none" else "slaney",
            dtype=np.float64)
  want = librosa.feature.melspectrogram(y=x, power=power, **kw)
  linear = np.abs(librosa.stft(x, n_fft=1024, hop_length=256)) ** power
  np.testing.assert_allclose(librosa.feature.melspectrogram(S=linear, **kw), want, rtol=1e-12)
  got = ts.forward(x.astype(dtype), cfg).numpy()
  assert got.dtype == dtype and got.shape == want.shape
  assert rel_err(got, want) <= TOL[dtype]
  via_linear = ts.linear_to_mel(ts.spectrogram(x.astype(dtype), cfg), cfg).numpy()
  assert rel_err(via_linear, want) <= TOL[dtype]


def test_linear_to_mel_frames_bins_layout(speech, rel_err):
  audio, rate = speech
  x = audio[:8000]
  cfg = SpectrogramConfig.librosa(sample_rate=rate, n_fft=512, hop_length=128, n_mels=40,
                                  representation="mel")
  want = librosa.feature.melspectrogram(y=x, sr=rate, n_fft=512, hop_length=128, n_mels=40,
                                        dtype=np.float64)
  got = ts.forward(x, cfg.replace(layout="frames_bins")).numpy()
  assert got.shape == want.T.shape
  assert rel_err(got, want.T) <= 1e-10
  with pytest.raises(SpecInvError, match="bins"):
    ts.linear_to_mel(np.zeros((256, 10)), cfg)


# ---------------------------------------------------------- mel to linear
def _objective(weights, s, mel):
  return float(np.sum((weights @ s - mel) ** 2))


def _mel_problem(audio, n_fft, n_mels, noisy):
  cfg = SpectrogramConfig.librosa(sample_rate=22050, n_fft=n_fft, hop_length=256, n_mels=n_mels,
                                  representation="mel")
  power = np.abs(librosa.stft(audio[:22050], n_fft=n_fft, hop_length=256)) ** 2
  weights = librosa.filters.mel(sr=22050, n_fft=n_fft, n_mels=n_mels, dtype=np.float64)
  mel = weights @ power
  if noisy:
    # Multiplicative noise makes the mel inconsistent: no S >= 0 reproduces it exactly
    # when filters cover 1-2 bins, so the NNLS optimum has a positive residual.
    mel = mel * np.exp(np.random.default_rng(3).normal(0.0, 0.5, mel.shape))
  return cfg, weights, mel


NNLS_CASES = [
    pytest.param(1024, 64, False, np.float64, id="n1024-m64-consistent-float64"),
    pytest.param(512, 128, True, np.float64, id="n512-m128-inconsistent-float64"),
    pytest.param(512, 128, True, np.float32, id="n512-m128-inconsistent-float32"),
]
FRAMES = [3, 20, 47, 70]


@pytest.mark.parametrize("n_fft, n_mels, noisy, dtype", NNLS_CASES)
def test_mel_to_linear_nnls_close_to_scipy_nnls(n_fft, n_mels, noisy, dtype, speech):
  audio, _ = speech
  cfg, weights, mel = _mel_problem(audio, n_fft, n_mels, noisy)
  est = ts.mel_to_linear_nnls(mel.astype(dtype), cfg).numpy()
  pinv = ts.mel_to_linear_pinv(mel.astype(dtype), cfg).numpy()
  assert est.shape == pinv.shape == (cfg.n_bins, mel.shape[1]) and est.dtype == dtype
  assert np.all(est >= 0) and np.all(pinv >= 0)
  floor = (1e-9 if dtype == np.float64 else 1e-6)
  for j in FRAMES:
    _, residual = scipy.optimize.nnls(weights, mel[:, j], maxiter=20 * cfg.n_bins)
    best = residual ** 2
    tiny = floor * float(np.sum(mel[:, j] ** 2))
    ours = _objective(weights, est[:, j].astype(np.float64), mel[:, j])
    assert ours <= 1.05 * best + tiny, f"frame {j}: {ours} vs scipy {best}"
    assert _objective(weights, pinv[:, j].astype(np.float64), mel[:, j]) >= ours - tiny
  if noisy:
    assert sum(scipy.optimize.nnls(weights, mel[:, j])[1] ** 2 for j in FRAMES) > 0


@pytest.mark.parametrize("noisy", [pytest.param(False, id="consistent"),
                                   pytest.param(True, id="inconsistent")])
def test_mel_to_linear_pinv_is_clipped_least_squares(noisy, speech, rel_err):
  audio, _ = speech
  cfg, weights, mel = _mel_problem(audio, 512, 128, noisy)
  want = np.maximum(0.0, np.linalg.lstsq(weights, mel, rcond=None)[0])
  got = ts.mel_to_linear_pinv(mel, cfg).numpy()
  assert rel_err(got, want) <= 1e-8


def test_mel_to_linear_batch_and_layout(speech, rel_err):
  audio, _ = speech
  cfg, _, mel = _mel_problem(audio, 512, 64, True)
  batch = np.stack([mel[:, :30], mel[:, 30:60]])  # [2, n_mels, 30]
  single = [ts.mel_to_linear_nnls(b, cfg).numpy() for b in batch]
  both = ts.mel_to_linear_nnls(batch, cfg).numpy()
  fb = ts.mel_to_linear_nnls(np.swapaxes(batch, -1, -2), cfg.replace(layout="frames_bins"))
  assert both.shape == (2, cfg.n_bins, 30)
  assert rel_err(both, np.stack(single)) <= 1e-12
  assert rel_err(np.swapaxes(fb.numpy(), -1, -2), both) <= 1e-12
  with pytest.raises(SpecInvError, match="mel bands"):
    ts.mel_to_linear_nnls(mel[:10], cfg)


# ------------------------------------------------- bins below the lowest band
def _undetermined_reference(basis):
  """float64 NumPy reference of `undetermined_bin_weights` from a librosa filterbank `[mels, bins]`.

  Written from the definition: below the peak bin of the lowest non-empty band, the
  band's peak weight times one minus the bin's coverage (column sum) relative to the peak
  bin's coverage, floored at 0; zero from the peak on.
  """
  lowest = next(row for row in basis if row.max() > 0)
  peak = int(np.argmax(lowest))
  coverage = basis.sum(axis=0)
  out = np.zeros(basis.shape[1])
  for k in range(peak):
    out[k] = lowest[peak] * max(0.0, 1.0 - coverage[k] / coverage[peak])
  return out


UNDETERMINED_CASES = [
    pytest.param(dict(sample_rate=22050, n_fft=1024, n_mels=80, fmin=80.0, fmax=7600.0),
                 "slaney", id="tensorflowtts-fmin80"),
    pytest.param(dict(sample_rate=16000, n_fft=800, n_mels=80, fmin=55.0, fmax=7600.0),
                 "slaney", id="rtvc-fmin55"),
    pytest.param(dict(sample_rate=44100, n_fft=4096, n_mels=96, fmin=30.0, fmax=16000.0),
                 "htk", id="htk-fmin30"),
    pytest.param(dict(sample_rate=16000, n_fft=512, n_mels=40, fmin=300.0, fmax=7000.0),
                 "htk", id="htk-fmin300"),
]


@pytest.mark.parametrize("kwargs, scale", UNDETERMINED_CASES)
def test_undetermined_bin_weights_match_numpy_reference(kwargs, scale):
  cfg = SpectrogramConfig.librosa(representation="mel", mel_scale=scale, **kwargs)
  basis = librosa.filters.mel(sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels,
                              fmin=cfg.fmin, fmax=kwargs["fmax"], htk=scale == "htk",
                              norm="slaney", dtype=np.float64)
  got = mel_lib.undetermined_bin_weights(cfg)
  want = _undetermined_reference(basis)
  assert got.shape == (cfg.n_fft // 2 + 1,) and got.dtype == np.float64
  np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12 * basis.max())
  # Every bin under fmin (no band sees it) weighs like a band; nothing from the lowest peak on.
  below = np.arange(got.size) * cfg.sample_rate / cfg.n_fft < cfg.fmin
  np.testing.assert_allclose(got[below], basis[0].max(), rtol=1e-6)
  assert not got[int(np.argmax(basis[0])):].any()


def test_undetermined_bin_weights_tensorflowtts_edge():
  # fmin 80 Hz at 22050 / 1024: bins 0-3 (0-65 Hz) unseen, bin 4 (86 Hz) on the rising edge only.
  cfg = ts.conventions.make("tensorflowtts")
  got = mel_lib.undetermined_bin_weights(cfg) / ts.mel_filterbank(cfg)[0].max()
  np.testing.assert_allclose(got[:4], 1.0)
  assert 0.5 < got[4] < 1.0
  assert not got[5:].any()


@pytest.mark.parametrize("convention", ["librosa", "hifigan", "coqui", "whisper", "vocos"])
def test_undetermined_bin_weights_off_when_the_lowest_band_reaches_dc(convention):
  overrides = dict(representation="mel") if convention == "librosa" else {}
  cfg = ts.conventions.get(convention)(**overrides)
  assert cfg.fmin == 0
  assert not mel_lib.undetermined_bin_weights(cfg).any()

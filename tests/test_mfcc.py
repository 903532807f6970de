"""DCT matrices and MFCCs against SciPy, librosa and tf.signal."""

import librosa
import numpy as np
import pytest
import scipy.fft
import tensorflow as tf

import tfspecinv as ts
from tfspecinv import SpectrogramConfig
from tfspecinv import mfcc as mfcc_lib

DTYPES = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]
# float64 cases that go through scale='db' currently fail: see the PACKAGE BUG note in
# test_scaling.py (Python floats cast to float64 through float32 in scaling.py).
TOL = {np.float32: 1e-5, np.float64: 1e-10}


@pytest.mark.parametrize("n_mels, n_mfcc", [pytest.param(40, 13, id="m40-c13"),
                                            pytest.param(128, 40, id="m128-c40"),
                                            pytest.param(20, 20, id="m20-c20")])
@pytest.mark.parametrize("dct_type, dct_norm", [
    pytest.param(2, "ortho", id="type2-ortho"), pytest.param(3, "ortho", id="type3-ortho"),
    pytest.param(2, "none", id="type2-none"), pytest.param(3, "none", id="type3-none"),
])
def test_dct_matrix_matches_scipy(dct_type, dct_norm, n_mels, n_mfcc):
  cfg = SpectrogramConfig(n_mels=n_mels, n_mfcc=n_mfcc, dct_type=dct_type, dct_norm=dct_norm)
  got = mfcc_lib.dct_matrix(cfg)
  want = scipy.fft.dct(np.eye(n_mels), type=dct_type,
                       norm="ortho" if dct_norm == "ortho" else "backward", axis=0)[:n_mfcc]
  assert got.shape == (n_mfcc, n_mels) and got.dtype == np.float64
  np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max())


def test_dct_matrix_tf_signal_norm_matches_tf_signal_mfccs():
  cfg = SpectrogramConfig.tf_signal(n_mels=40, n_mfcc=13)
  want = tf.signal.mfccs_from_log_mel_spectrograms(tf.eye(40, dtype=tf.float64)).numpy()
  np.testing.assert_allclose(mfcc_lib.dct_matrix(cfg), want.T[:13], rtol=0, atol=1e-12)


def test_dct_type2_ortho_is_orthonormal():
  d = mfcc_lib.dct_matrix(SpectrogramConfig(n_mels=64, n_mfcc=64))
  np.testing.assert_allclose(d @ d.T, np.eye(64), atol=1e-12)


@pytest.fixture(scope="module")
def mel_db(speech, batch_of):
  """Two real mel spectrograms in dB (per-example power_to_db), [2, 64, frames]."""
  audio, rate = speech
  x = batch_of(audio, (2,), 12000)
  mel = librosa.feature.melspectrogram(y=x, sr=rate, n_fft=1024, hop_length=256, n_mels=64,
                                       dtype=np.float64)
  return np.stack([librosa.power_to_db(m) for m in mel])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_mfcc, lifter", [pytest.param(20, 0.0, id="c20-lifter0"),
                                            pytest.param(20, 22.0, id="c20-lifter22"),
                                            pytest.param(13, 22.0, id="c13-lifter22"),
                                            pytest.param(40, 0.0, id="c40-lifter0")])
def test_mfcc_from_scaled_mel_matches_librosa(n_mfcc, lifter, dtype, mel_db, rel_err):
  cfg = SpectrogramConfig.librosa(n_fft=1024, n_mels=64, n_mfcc=n_mfcc, lifter=lifter,
                                  representation="mfcc", scale="db")
  got = ts.mfcc_from_scaled_mel(mel_db.astype(dtype), cfg).numpy()
  assert got.dtype == dtype and got.shape == (2, n_mfcc, mel_db.shape[-1])
  for b in range(2):
    want = librosa.feature.mfcc(S=mel_db[b], n_mfcc=n_mfcc, dct_type=2, norm="ortho",
                                lifter=lifter)
    assert rel_err(got[b], want) <= TOL[dtype]


@pytest.mark.parametrize("dtype", DTYPES)
def test_mfcc_dct_type3_ortho_matches_scipy(dtype, mel_db, rel_err):
  cfg = SpectrogramConfig.librosa(n_fft=1024, n_mels=64, n_mfcc=30, dct_type=3,
                                  representation="mfcc", scale="db")
  got = ts.mfcc_from_scaled_mel(mel_db.astype(dtype), cfg).numpy()
  want = scipy.fft.dct(mel_db, type=3, norm="ortho", axis=-2)[..., :30, :]
  assert rel_err(got, want) <= TOL[dtype]
  # librosa agrees for dct_type=3 as well.
  lib = librosa.feature.mfcc(S=mel_db[0], n_mfcc=30, dct_type=3, norm="ortho")
  assert rel_err(got[0], lib) <= TOL[dtype]


def test_mfcc_from_scaled_mel_frames_bins_layout(mel_db, rel_err):
  cfg = SpectrogramConfig.librosa(n_fft=1024, n_mels=64, n_mfcc=20, lifter=22.0,
                                  representation="mfcc", scale="db")
  a = ts.mfcc_from_scaled_mel(mel_db, cfg).numpy()
  b = ts.mfcc_from_scaled_mel(np.swapaxes(mel_db, -1, -2), cfg.replace(layout="frames_bins"))
  assert rel_err(np.swapaxes(b.numpy(), -1, -2), a) <= 1e-12


FORWARD_CASES = [
    pytest.param("speech", dict(n_fft=1024, hop_length=256, n_mels=64, n_mfcc=20, lifter=0.0),
                 id="speech-n1024-m64-c20"),
    pytest.param("speech", dict(n_fft=512, hop_length=128, n_mels=40, n_mfcc=13, lifter=22.0,
                                fmax=8000.0, mel_scale="htk"), id="speech-n512-m40-c13-htk-lift22"),
    pytest.param("piano", dict(n_fft=2048, hop_length=512, n_mels=128, n_mfcc=40, lifter=22.0),
                 id="piano-n2048-m128-c40-lift22"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("source, kwargs", FORWARD_CASES)
def test_forward_mfcc_matches_librosa(source, kwargs, dtype, request, batch_of, rel_err):
  audio, rate = request.getfixturevalue(source)
  x = batch_of(audio, (2,), rate // 2)
  cfg = SpectrogramConfig.librosa(sample_rate=rate, representation="mfcc", scale="db", **kwargs)
  got = ts.forward(x.astype(dtype), cfg).numpy()
  assert got.dtype == dtype and got.shape[:2] == (2, cfg.n_mfcc)
  for b in range(2):
    want = librosa.feature.mfcc(y=x[b], sr=rate, n_mfcc=cfg.n_mfcc, dct_type=2, norm="ortho",
                                lifter=cfg.lifter, n_fft=cfg.n_fft, hop_length=cfg.hop_length,
                                n_mels=cfg.n_mels, fmax=kwargs.get("fmax"),
                                htk=cfg.mel_scale == "htk", dtype=np.float64)
    assert got[b].shape == want.shape
    assert rel_err(got[b], want) <= TOL[dtype]

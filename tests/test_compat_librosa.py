"""tfspecinv.compat.librosa against the installed librosa (the reference, float64 where it counts).

Signatures are compared with `inspect.signature` of librosa's own functions;
shapes, lengths and dtypes with librosa's outputs on the same inputs (librosa
with `n_iter=1`: only the contract is compared there); fit with librosa's
transforms (`librosa.stft`, `feature.melspectrogram`, `feature.mfcc`) of both
outputs. librosa's docstring examples (librosa/core/spectrum.py `griffinlim`,
librosa/feature/inverse.py `mel_to_stft`, `mel_to_audio`) are run as written
and with the import swapped.
"""

import inspect
import subprocess
import sys
import warnings

import librosa
import numpy as np
import pytest
import scipy.signal
from librosa.util.exceptions import ParameterError

import tfspecinv
from tfspecinv.compat import librosa as compat

from conftest import SPEECH_PATH

NAMES = {"griffinlim": librosa.griffinlim, "mel_to_stft": librosa.feature.inverse.mel_to_stft,
         "mel_to_audio": librosa.feature.inverse.mel_to_audio,
         "mfcc_to_mel": librosa.feature.inverse.mfcc_to_mel,
         "mfcc_to_audio": librosa.feature.inverse.mfcc_to_audio}
SR = 22050


def _sc_db(estimate, target):
  estimate, target = np.asarray(estimate, np.float64), np.asarray(target, np.float64)
  return 20 * np.log10(np.linalg.norm(estimate - target) / np.linalg.norm(target))


def _lsd_db(estimate, target):
  """Log-spectral distance of powers, floor 1e-10 of the target's peak (bench/benchlib.py)."""
  estimate, target = np.asarray(estimate, np.float64), np.asarray(target, np.float64)
  eps = 1e-10 * target.max()
  diff = 10 * (np.log10(estimate + eps) - np.log10(target + eps))
  return float(np.mean(np.sqrt(np.mean(diff ** 2, axis=-2))))


@pytest.fixture(scope="module")
def clip():
  """1.5 s of the bundled speech at 22050 Hz, float32 (as librosa.load gives)."""
  y, sr = librosa.load(SPEECH_PATH, sr=SR, offset=0.5, duration=1.5)
  assert sr == SR
  return y


@pytest.mark.parametrize("name", sorted(NAMES))
def test_signature_is_librosas(name):
  ours = inspect.signature(getattr(compat, name)).parameters
  theirs = inspect.signature(NAMES[name]).parameters
  assert list(ours) == list(theirs)
  for key, parameter in theirs.items():
    assert ours[key].kind == parameter.kind, key
    assert ours[key].default == parameter.default, key
  assert "n_iter" in getattr(compat, name).__doc__ or name in ("mfcc_to_mel", "mel_to_stft")


@pytest.mark.parametrize("batch,dtype,center,length", [
    ((), np.float32, True, None),
    ((2,), np.float64, True, None),
    ((2, 3), np.float32, False, None),
    ((), np.float32, True, 5000),   # Shorter than the frames carry: trimmed.
    ((2,), np.float32, True, 9000),  # Longer: zero-padded.
    ((), np.float32, True, 8000),   # A length the frames carry exactly.
])
def test_griffinlim_output_contract_is_librosas(clip, batch, dtype, center, length):
  n_fft, hop = 512, 128
  S = np.abs(librosa.stft(clip[:8000], n_fft=n_fft, hop_length=hop, center=center))
  S = np.stack([S * (1 + i) for i in range(int(np.prod(batch)))]).reshape(batch + S.shape)
  S = S.astype(dtype)
  kwargs = dict(hop_length=hop, center=center, length=length)
  # librosa's griffinlim returns istft(...) of these arguments; its loop fails for a length
  # whose STFT has another frame count (5000, 9000 here), so istft gives the contract.
  theirs = librosa.istft(S.astype(np.complex64 if dtype == np.float32 else np.complex128),
                         **kwargs)
  if length in (None, 8000):
    assert theirs.shape == librosa.griffinlim(S, n_iter=1, random_state=0, **kwargs).shape
  ours = compat.griffinlim(S, n_iter=3, random_state=0, **kwargs)
  assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
  assert np.all(np.isfinite(ours)) and np.max(np.abs(ours)) > 0
  if length == 9000:  # Beyond the last frame's window: zeros, as librosa's fix_length.
    assert not np.any(ours[..., hop * (S.shape[-1] - 1) + n_fft // 2:])


@pytest.mark.parametrize("dtype,expected", [(None, np.float32), (np.float64, np.float64)])
def test_griffinlim_dtype_argument(clip, dtype, expected):
  S = np.abs(librosa.stft(clip[:4096], n_fft=256))
  theirs = librosa.griffinlim(S, n_iter=1, dtype=dtype, random_state=0)
  ours = compat.griffinlim(S, n_iter=2, dtype=dtype, random_state=0)
  assert ours.dtype == theirs.dtype == expected and ours.shape == theirs.shape


@pytest.mark.parametrize("batch,kwargs", [
    ((), {}),
    ((2,), dict(dtype=np.float64, length=6000)),
    ((), dict(fmin=50.0, fmax=7000.0, htk=True, norm=None, hop_length=200, win_length=800)),
    ((1, 2), dict(power=1.0, center=False, window="hamming")),
])
def test_mel_to_audio_output_contract_is_librosas(clip, batch, kwargs):
  mel_keys = {k: v for k, v in kwargs.items() if k in ("fmin", "fmax", "htk", "norm")}
  stft_keys = {k: v for k, v in kwargs.items()
               if k in ("hop_length", "win_length", "center", "window", "power")}
  stft_keys.setdefault("hop_length", 256)  # mel_to_audio's default (melspectrogram's is 512).
  y = np.stack([clip[:6000] * (1 + i) for i in range(int(np.prod(batch)))])
  M = librosa.feature.melspectrogram(y=y.reshape(batch + (6000,)), sr=SR, n_fft=1024,
                                     n_mels=40, **stft_keys, **mel_keys)
  theirs = librosa.feature.inverse.mel_to_audio(M, sr=SR, n_fft=1024, n_iter=1, **kwargs)
  ours = compat.mel_to_audio(M, sr=SR, n_fft=1024, n_iter=2, **kwargs)
  assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
  rebuilt = librosa.feature.melspectrogram(y=ours.astype(np.float64), sr=SR, n_fft=1024,
                                           n_mels=40, **stft_keys, **mel_keys)
  if "length" not in kwargs:
    assert _sc_db(rebuilt, M) < -10.0  # 2 + 20 iterations already fit the bands.


@pytest.mark.parametrize("batch", [(), (2,)])
def test_mel_to_stft_matches_librosas_nnls_or_fits_better(clip, batch):
  y = np.stack([clip * (1 + i) for i in range(int(np.prod(batch)))]).reshape(batch + clip.shape)
  M = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=1024, hop_length=256, n_mels=64)
  theirs = librosa.feature.inverse.mel_to_stft(M, sr=SR, n_fft=1024)
  ours = compat.mel_to_stft(M, sr=SR, n_fft=1024)
  assert ours.shape == theirs.shape and ours.dtype == theirs.dtype == np.float32
  assert ours.min() >= 0
  basis = librosa.filters.mel(sr=SR, n_fft=1024, n_mels=64, dtype=np.float64)
  # Both solve min ||basis X - M|| over X >= 0 (X = magnitudes ** 2): compare residuals.
  fit = lambda X: _sc_db(np.einsum("mf,...ft->...mt", basis, np.float64(X) ** 2), M)
  assert fit(ours) <= fit(theirs) + 0.5, (fit(ours), fit(theirs))
  S = np.abs(librosa.stft(y, n_fft=1024, hop_length=256))
  assert _sc_db(ours, S) <= _sc_db(theirs, S) + 0.5


def test_mel_to_stft_power_and_filter_arguments(clip):
  M = librosa.feature.melspectrogram(y=clip.astype(np.float64), sr=SR, n_fft=512, n_mels=32,
                                     power=1.0, fmin=100.0, fmax=6000.0, htk=True, norm=None)
  theirs = librosa.feature.inverse.mel_to_stft(M, sr=SR, n_fft=512, power=1.0, fmin=100.0,
                                               fmax=6000.0, htk=True, norm=None)
  ours = compat.mel_to_stft(M, sr=SR, n_fft=512, power=1.0, fmin=100.0, fmax=6000.0, htk=True,
                            norm=None)
  assert ours.shape == theirs.shape and ours.dtype == theirs.dtype == np.float64
  basis = librosa.filters.mel(sr=SR, n_fft=512, n_mels=32, fmin=100.0, fmax=6000.0, htk=True,
                              norm=None, dtype=np.float64)
  assert _sc_db(basis @ ours, M) <= _sc_db(basis @ theirs, M) + 0.5


@pytest.mark.parametrize("dct_type,norm,lifter,ref,dtype", [
    (2, "ortho", 0, 1.0, np.float32), (2, None, 22, 1.0, np.float64),
    (3, "ortho", 0, 0.5, np.float64), (3, None, 10, 1.0, np.float32)])
def test_mfcc_to_mel_equals_librosas(clip, dct_type, norm, lifter, ref, dtype):
  M = librosa.feature.melspectrogram(y=clip.astype(np.float64), sr=SR, n_mels=64)
  C = librosa.feature.mfcc(S=librosa.power_to_db(M, ref=ref), n_mfcc=24, dct_type=dct_type,
                           norm=norm, lifter=lifter).astype(dtype)
  C = np.stack([C, C * 0.5])  # Two channels.
  kwargs = dict(n_mels=64, dct_type=dct_type, norm=norm, ref=ref, lifter=lifter)
  theirs = librosa.feature.inverse.mfcc_to_mel(C, **kwargs)
  ours = compat.mfcc_to_mel(C, **kwargs)
  assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
  tolerance = 1e-4 if dtype == np.float32 else 1e-9
  assert np.max(np.abs(ours - theirs)) <= tolerance * np.max(np.abs(theirs))


def test_mfcc_to_audio_output_contract_and_fit(clip):
  C = librosa.feature.mfcc(y=clip, sr=SR, n_mfcc=20, n_mels=64, n_fft=1024, hop_length=256)
  C2 = np.stack([C, C])
  kwargs = dict(n_mels=64, sr=SR, n_fft=1024, hop_length=256)
  theirs = librosa.feature.inverse.mfcc_to_audio(C2, n_iter=1, **kwargs)
  ours = compat.mfcc_to_audio(C2, n_iter=4, **kwargs)
  assert ours.shape == theirs.shape and ours.dtype == theirs.dtype == np.float32
  mfcc_of = lambda w: librosa.feature.mfcc(y=w.astype(np.float64), sr=SR, n_mfcc=20, n_mels=64,
                                           n_fft=1024, hop_length=256)
  librosa_32 = librosa.feature.inverse.mfcc_to_audio(C, **kwargs)  # Its default n_iter.
  assert _sc_db(mfcc_of(ours[0]), C) < _sc_db(mfcc_of(librosa_32), C)


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("call,words", [
    (lambda S, M: compat.griffinlim(S, window=("kaiser", 4.0)), "window"),
    (lambda S, M: compat.griffinlim(S, window="kaiser"), "'hann'"),
    (lambda S, M: compat.griffinlim(S, window=scipy.signal.windows.hann), "periodic"),
    (lambda S, M: compat.griffinlim(S, pad_mode="linear_ramp"), "pad_mode"),
    (lambda S, M: compat.griffinlim(S, momentum=-0.5), "momentum"),
    (lambda S, M: compat.griffinlim(S, init="zeros"), "init"),
    (lambda S, M: compat.griffinlim(S, random_state="seed"), "random_state"),
    (lambda S, M: compat.griffinlim(S, n_fft=1024), "n_fft"),
    (lambda S, M: compat.griffinlim(S, n_iter=-1), "n_iter"),
    (lambda S, M: compat.griffinlim(S * np.nan), "NaN"),
    (lambda S, M: compat.griffinlim(S + 0j), "complex"),
    (lambda S, M: compat.griffinlim(S, dtype=np.int16), "dtype"),
    (lambda S, M: compat.mel_to_audio(-M), "negative"),
    (lambda S, M: compat.mel_to_audio(M, power=1.5), "power"),
    (lambda S, M: compat.mel_to_audio(M, norm=2.0), "norm"),
    (lambda S, M: compat.mel_to_audio(M, fmax=20000.0), "fmax"),
    (lambda S, M: compat.mel_to_audio(M, win_length=4096), "win_length"),
    (lambda S, M: compat.mel_to_stft(M, power=0), "power"),
    (lambda S, M: compat.mfcc_to_mel(M[:20], dct_type=1), "dct_type"),
    (lambda S, M: compat.mfcc_to_mel(M[:20], lifter=-1), "lifter"),
    (lambda S, M: compat.mfcc_to_audio(M[:20], n_mels=16), "n_mfcc"),
])
def test_bad_arguments_raise_librosas_parameter_error(call, words):
  S = np.abs(librosa.stft(np.random.default_rng(0).standard_normal(4096).astype(np.float32)))
  M = librosa.feature.melspectrogram(S=S ** 2, sr=SR)
  with pytest.raises(ParameterError, match=words) as caught:
    call(S, M)
  assert isinstance(caught.value, tfspecinv.SpecInvError)  # Also a ValueError.
  assert "\n" not in str(caught.value)


def test_unknown_keyword_is_a_type_error_as_in_librosa():
  M = np.ones((128, 10), np.float32)
  with pytest.raises(TypeError, match="n_mel"):
    librosa.feature.inverse.mel_to_stft(M, n_mel=128)
  with pytest.raises(TypeError, match="n_mel"):
    compat.mel_to_stft(M, n_mel=128)


def test_momentum_above_one_warns_as_librosa(clip):
  S = np.abs(librosa.stft(clip[:4096], n_fft=256))
  with pytest.warns(UserWarning, match="momentum=1.5"):
    compat.griffinlim(S, n_iter=2, momentum=1.5, random_state=0)


def test_windows_given_as_arrays_callables_and_aliases(clip):
  S = np.abs(librosa.stft(clip[:4096], n_fft=256, window="hamming"))
  expected = compat.griffinlim(S, n_iter=2, window="hamming", random_state=1)
  for window in ("hamm", scipy.signal.get_window("hamming", 256),
                 lambda n: scipy.signal.get_window("hamming", n)):
    np.testing.assert_allclose(compat.griffinlim(S, n_iter=2, window=window, random_state=1),
                               expected, rtol=0, atol=1e-6)


def test_random_state_is_honoured(clip):
  S = np.abs(librosa.stft(clip[:4096], n_fft=256, window="boxcar"))  # Boxcar: random start.
  run = lambda state: compat.griffinlim(S, n_iter=2, window="boxcar", random_state=state)
  np.testing.assert_array_equal(run(3), run(3))
  assert not np.array_equal(run(3), run(4))
  np.testing.assert_array_equal(run(np.random.default_rng(5)), run(np.random.default_rng(5)))
  np.testing.assert_array_equal(run(np.random.RandomState(5)), run(np.random.RandomState(5)))


def test_without_librosa_the_error_is_specinverror(monkeypatch):
  monkeypatch.setitem(sys.modules, "librosa", None)  # `import librosa...` raises ImportError.
  monkeypatch.setitem(sys.modules, "librosa.util", None)
  monkeypatch.setitem(sys.modules, "librosa.util.exceptions", None)
  compat.parameter_error.cache_clear()
  try:
    with pytest.raises(tfspecinv.SpecInvError, match="pad_mode") as caught:
      compat.griffinlim(np.ones((129, 10), np.float32), pad_mode="wrap")
    assert not isinstance(caught.value, ParameterError)
  finally:
    compat.parameter_error.cache_clear()


def test_importing_the_module_does_not_import_librosa():
  code = ("import sys, tfspecinv.compat.librosa as c; "
          "assert 'librosa' not in sys.modules and 'tensorflow' not in sys.modules; "
          "print(sorted(c.__all__)[0])")
  process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=120, cwd=str(SPEECH_PATH.parent.parent))
  assert process.returncode == 0, process.stderr


# ------------------------------------------- librosa's documented examples
# From the docstrings (librosa.ex('trumpet') downloads; the bundled speech instead).
EXAMPLES = {
    "griffinlim": """
y, sr = librosa.load(PATH, duration=2.0)
S = np.abs(librosa.stft(y))
y_inv = librosa.griffinlim(S)
y_istft = librosa.istft(S)
""",
    "mel_to_stft": """
y, sr = librosa.load(PATH, duration=2.0)
S = librosa.util.abs2(librosa.stft(y))
mel_spec = librosa.feature.melspectrogram(S=S, sr=sr)
S_inv = librosa.feature.inverse.mel_to_stft(mel_spec, sr=sr)
""",
    "mel_to_audio": """
y, sr = librosa.load(PATH, duration=2.0)
M = librosa.feature.melspectrogram(y=y, sr=sr)
y_inv = librosa.feature.inverse.mel_to_audio(M, sr=sr)
""",
}
SWAPS = (("librosa.griffinlim(", "inverse.griffinlim("),
         ("librosa.feature.inverse.", "inverse."))


def _run_example(source, swapped):
  """The example's variables; `swapped`: its inverse functions from tfspecinv.compat.librosa."""
  namespace = {"librosa": librosa, "np": np, "PATH": str(SPEECH_PATH), "inverse": compat}
  if swapped:
    for old, new in SWAPS:
      source = source.replace(old, new)
    assert "inverse." in source and "librosa.griffinlim" not in source
  exec(compile(source, "<example>", "exec"), namespace)  # pylint: disable=exec-used
  return namespace


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_librosas_examples_run_with_the_import_swapped_and_fit_better(name):
  theirs = _run_example(EXAMPLES[name], swapped=False)
  ours = _run_example(EXAMPLES[name], swapped=True)
  sr = theirs["sr"]
  if name == "griffinlim":
    assert ours["y_inv"].shape == theirs["y_inv"].shape and ours["y_inv"].dtype == np.float32
    S = theirs["S"]
    mag = lambda w: np.abs(librosa.stft(w.astype(np.float64)))
    assert _sc_db(mag(ours["y_inv"]), S) <= _sc_db(mag(theirs["y_inv"]), S)
    assert _lsd_db(mag(ours["y_inv"]) ** 2, S ** 2) < _lsd_db(mag(theirs["y_inv"]) ** 2, S ** 2)
  elif name == "mel_to_stft":
    assert ours["S_inv"].shape == theirs["S_inv"].shape
    basis = librosa.filters.mel(sr=sr, n_fft=2048, dtype=np.float64)
    fit = lambda X: _sc_db(basis @ np.float64(X) ** 2, theirs["mel_spec"])
    assert fit(ours["S_inv"]) <= fit(theirs["S_inv"]) + 0.5
  else:
    assert ours["y_inv"].shape == theirs["y_inv"].shape and ours["y_inv"].dtype == np.float32
    mel = lambda w: librosa.feature.melspectrogram(y=w.astype(np.float64), sr=sr)
    ours_db, theirs_db = _sc_db(mel(ours["y_inv"]), theirs["M"]), _sc_db(mel(theirs["y_inv"]),
                                                                          theirs["M"])
    assert ours_db < theirs_db - 15.0, (ours_db, theirs_db)

"""librosa's inverse functions, same signatures and output contract, tfspecinv's algorithm.

Swap the import and keep the call:

>>> from tfspecinv.compat.librosa import griffinlim, mel_to_audio
>>> y = mel_to_audio(M, sr=sr)            # was librosa.feature.inverse.mel_to_audio
>>> y = griffinlim(np.abs(S))             # was librosa.griffinlim

| function | librosa | here |
| --- | --- | --- |
| `griffinlim(S)` | `n_iter` fast Griffin-Lim iterations from random phase | `n_iter` Griffin-Lim iterations from a PGHI phase estimate |
| `mel_to_stft(M)` | NNLS (SciPy L-BFGS-B) | NNLS (accelerated projected gradient, `NNLS_ITERATIONS`) |
| `mel_to_audio(M)` | `mel_to_stft` + `griffinlim` | `n_iter` Griffin-Lim iterations, then `10 * n_iter` L-BFGS iterations against the mel bands themselves |
| `mfcc_to_mel(C)` | inverse DCT, `db_to_power` | the same closed form (tfspecinv's DCT matrices), the same values |
| `mfcc_to_audio(C)` | `mfcc_to_mel` + `mel_to_audio` | `n_iter` + `10 * n_iter` L-BFGS iterations against the MFCCs themselves |

Argument names, defaults and meanings are librosa 0.11's; outputs have
librosa's shapes (leading axes are channels, inverted together as a batch),
lengths and dtypes. Bad arguments raise librosa's `ParameterError` when librosa
is installed (a class deriving from it and from `tfspecinv.SpecInvError`,
so either `except` catches it), else `tfspecinv.SpecInvError`. What tfspecinv
does not model raises it too, naming the argument and the supported values:
windows other than periodic Hann, Hamming, Blackman and boxcar, pad modes
other than constant/reflect/symmetric/edge, `power` other than 1 or 2 for
audio, numeric mel `norm`, `dct_type=1`.

librosa is never imported except to fetch its exception class when one is
raised. Timings and quality on the corpus: bench/results/compat.md.
"""

import math
import numbers
import warnings

import numpy as np

from tfspecinv import cache
from tfspecinv.errors import SpecInvError

__all__ = ["griffinlim", "mel_to_stft", "mel_to_audio", "mfcc_to_mel", "mfcc_to_audio",
           "parameter_error", "LBFGS_PER_ITERATION",
           "NNLS_ITERATIONS"]

# mel_to_audio / mfcc_to_audio: L-BFGS iterations per n_iter (32 -> 320; the
# engine's own default for mel is 32 + 350).
LBFGS_PER_ITERATION = 10
# Projected-gradient steps of the mel -> linear NNLS (reconstruct's default).
NNLS_ITERATIONS = 200

# scipy.signal.get_window's names (and aliases) of the windows tfspecinv models.
_WINDOWS = {"hann": "hann", "han": "hann", "hamming": "hamming", "hamm": "hamming",
            "ham": "hamming", "blackman": "blackman", "black": "blackman", "blk": "blackman",
            "boxcar": "ones", "box": "ones", "ones": "ones", "rect": "ones",
            "rectangular": "ones"}
_PAD_MODES = ("constant", "reflect", "symmetric", "edge")
_MEL_KWARGS = ("fmin", "fmax", "htk", "norm")


# ------------------------------------------------------------------ errors
@cache.cached(maxsize=1)  # One class per process: `except parameter_error()` matches.
def parameter_error():
  """The exception class these functions raise for bad arguments or input.

  With librosa installed: a `ParameterError` deriving from librosa's
  `librosa.util.exceptions.ParameterError` and from `tfspecinv.SpecInvError`
  (a `ValueError`); without librosa: `tfspecinv.SpecInvError`.

  Returns:
    An exception class.
  """
  try:
    from librosa.util.exceptions import ParameterError as LibrosaParameterError  # pylint: disable=import-outside-toplevel
  except ImportError:
    return SpecInvError
  return type("ParameterError", (LibrosaParameterError, SpecInvError), {
      "__module__": __name__,
      "__doc__": "librosa's ParameterError, also a tfspecinv.SpecInvError (ValueError)."})


def _fail(message):
  raise parameter_error()(message)


def _reraise(error):
  """A tfspecinv error as the class librosa's callers catch (same message)."""
  if isinstance(error, parameter_error()):
    raise error
  raise parameter_error()(str(error)) from error


# -------------------------------------------------------------- arguments
def _window_name(window, win_length):
  """tfspecinv's name for librosa's `window` argument, or ParameterError."""
  from tfspecinv import transforms  # pylint: disable=import-outside-toplevel
  from tfspecinv.config import SpectrogramConfig  # pylint: disable=import-outside-toplevel
  if isinstance(window, tuple) and len(window) == 1:
    window = window[0]
  if isinstance(window, str):
    if window.lower() in _WINDOWS:
      return _WINDOWS[window.lower()]
    _fail(f"window={window!r} is not supported by tfspecinv; use 'hann' (librosa's default), "
          "'hamming', 'blackman' or 'boxcar', or librosa's own function for other windows.")
  if callable(window) or isinstance(window, (np.ndarray, list)):
    values = np.asarray(window(win_length) if callable(window) else window, np.float64)
    if values.shape != (win_length,):
      _fail(f"Window size mismatch: {values.shape} != ({win_length},); give win_length values.")
    for name in ("hann", "hamming", "blackman", "ones"):
      reference = transforms.window(SpectrogramConfig(n_fft=max(win_length, 2),
                                                      win_length=win_length, window=name))
      if np.allclose(values, reference, rtol=0, atol=1e-6):
        return name
    _fail("window: this window is not one tfspecinv models; use a periodic Hann, Hamming, "
          "Blackman or boxcar window (scipy's fftbins=True, e.g. window='hann'), or "
          "librosa's own function for other windows.")
  _fail(f"window={window!r} is not supported by tfspecinv; use 'hann', 'hamming', "
        "'blackman' or 'boxcar'.")
  return None  # Not reached.


def _stft_fields(n_fft, hop_length, win_length, window, center, pad_mode):
  """SpectrogramConfig keywords for librosa's STFT arguments."""
  if not isinstance(pad_mode, str) or pad_mode not in _PAD_MODES:
    _fail(f"pad_mode={pad_mode!r} is not supported by tfspecinv; use one of "
          f"{', '.join(map(repr, _PAD_MODES))} ('constant' is librosa's default).")
  _check_int("n_fft", n_fft, minimum=2)
  win_length = n_fft if win_length is None else win_length
  _check_int("win_length", win_length, minimum=1)
  if hop_length is not None:
    _check_int("hop_length", hop_length, minimum=1)
  return dict(n_fft=int(n_fft), hop_length=None if hop_length is None else int(hop_length),
              win_length=int(win_length), window=_window_name(window, int(win_length)),
              center=bool(center), pad_mode=pad_mode)


def _check_int(name, value, minimum):
  if (isinstance(value, bool) or not isinstance(value, numbers.Integral) or
      value < minimum):
    _fail(f"{name}={value!r} must be an integer >= {minimum}.")


def _sample_rate(sr):
  if (isinstance(sr, bool) or not isinstance(sr, numbers.Real) or not math.isfinite(sr) or
      sr <= 0 or float(sr) != int(sr)):
    _fail(f"sr={sr!r} must be a positive whole number of samples per second (e.g. 22050).")
  return int(sr)


def _mel_fields(function, sr, kwargs):
  """SpectrogramConfig keywords for librosa's mel filter keyword arguments."""
  for name in kwargs:
    if name not in _MEL_KWARGS:
      raise TypeError(f"{function}() got an unexpected keyword argument {name!r} (the mel "
                      f"filter takes {', '.join(_MEL_KWARGS)})")
  norm = kwargs.get("norm", "slaney")
  if norm is not None and norm != "slaney":
    _fail(f"norm={norm!r} is not supported by tfspecinv's mel filters; use 'slaney' "
          "(librosa's default, area normalisation) or None (peak 1).")
  fmax = kwargs.get("fmax")
  return dict(sample_rate=_sample_rate(sr), fmin=float(kwargs.get("fmin", 0.0)),
              fmax=None if fmax is None else float(fmax),
              mel_scale="htk" if kwargs.get("htk", False) else "slaney",
              mel_norm="slaney" if norm == "slaney" else "none")


def _audio_power(power):
  if isinstance(power, bool) or not isinstance(power, numbers.Real) or power not in (1, 2):
    _fail(f"power={power!r} is not supported by tfspecinv's forward model; use 2 (power, "
          "librosa's default) or 1 (magnitude).")
  return float(power)


def _iterations(n_iter):
  _check_int("n_iter", n_iter, minimum=0)
  return int(n_iter)


def _output_dtype(dtype, default):
  """The real output dtype (complex types map to their real part's, as librosa's istft)."""
  try:
    resolved = np.dtype(default if dtype is None else dtype)
  except TypeError:
    _fail(f"dtype={dtype!r} is not a NumPy dtype; use np.float32 or np.float64.")
  if resolved.kind == "c":
    resolved = np.finfo(resolved).dtype
  if resolved.kind != "f":
    _fail(f"dtype={dtype!r} is not a floating-point type; use np.float32 or np.float64.")
  return resolved


def _seed(random_state):
  """An integer seed from librosa's `random_state` (None: fresh entropy, as librosa)."""
  if random_state is None:
    return int(np.random.default_rng().integers(2 ** 31 - 1))
  if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
    if not 0 <= random_state < 2 ** 32:
      _fail(f"random_state={random_state!r} must be between 0 and 2**32 - 1.")
    return int(random_state)
  if isinstance(random_state, np.random.Generator):
    return int(random_state.integers(2 ** 31 - 1))
  if isinstance(random_state, np.random.RandomState):
    return int(random_state.randint(2 ** 31 - 1))
  _fail(f"Unsupported random_state={random_state!r}")
  return None  # Not reached.


def _check_momentum(momentum):
  if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real) or momentum < 0:
    _fail(f"griffinlim() called with momentum={momentum} < 0; use a momentum >= 0 (0.99 is "
          "librosa's default).")
  if momentum > 1:
    warnings.warn(f"Griffin-Lim with momentum={momentum} > 1 can be unstable. "
                  "Proceed with caution!", stacklevel=3)


def _array(values, name):
  array = np.asarray(values)
  if array.dtype.kind == "c":
    _fail(f"{name} is complex; pass magnitudes (np.abs({name})).")
  if array.dtype.kind not in "fiu":
    _fail(f"{name} has dtype {array.dtype}; pass a real numeric array.")
  if array.ndim < 2:
    _fail(f"{name} has shape {array.shape}; it needs at least 2 dimensions [..., n, t].")
  return array


# -------------------------------------------------------------- the runs
def _invert(values, config, gl_iters, lbfgs_iters, length, dtype, seed, init="auto",
            momentum=0.99):
  """tfspecinv.reconstruct under librosa's length and dtype rules; NumPy `[..., length]`."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from tfspecinv import pipeline  # pylint: disable=import-outside-toplevel
  frames = values.shape[-1]
  fit_length = None  # The length the model fits: `length` when these frames can carry it.
  if length is not None:
    _check_int("length", length, minimum=1)
    carried = [n for n in range(max(1, config.num_samples(frames)),
                                config.num_samples(frames) + config.hop_length)
               if config.num_frames(n) == frames]
    if config.num_frames(int(length)) == frames or not carried:
      fit_length = int(length)
    else:  # The nearest such length, then zero-padded or trimmed as librosa's fix_length.
      fit_length = min(max(int(length), carried[0]), carried[-1])
  compute = tf.float64 if dtype == np.float64 or dtype.itemsize > 8 else tf.float32
  try:
    waveform, _ = pipeline.reconstruct(
        values.astype(compute.as_numpy_dtype, copy=False), config, method="lbfgs",
        gl_iters=gl_iters, lbfgs_iters=lbfgs_iters, length=fit_length, seed=seed, init=init,
        momentum=float(momentum), dtype=compute)
  except SpecInvError as error:
    _reraise(error)
  if length is not None and fit_length != length:
    waveform = waveform[..., :length]
    pad = [(0, 0)] * (waveform.ndim - 1) + [(0, length - waveform.shape[-1])]
    waveform = np.pad(waveform, pad)
  return waveform.astype(dtype, copy=False)


def _config(**fields):
  from tfspecinv.config import SpectrogramConfig  # pylint: disable=import-outside-toplevel
  try:
    return SpectrogramConfig.librosa(**fields)
  except SpecInvError as error:
    _reraise(error)
  return None  # Not reached.


def _griffinlim_init(init, config):
  if init == "random":
    # No phase was given: tfspecinv's PGHI start where the frames overlap by
    # 75% or more with a bell-shaped window (librosa's defaults), else random.
    from tfspecinv import pghi  # pylint: disable=import-outside-toplevel
    bell = config.window in pghi.WINDOW_GAMMA
    return "pghi" if bell and 4 * config.hop_length <= config.win_length else "random"
  if init is None:
    return "zeros"  # librosa: phase taken from real S, i.e. zero.
  _fail(f"init={init} must either None or 'random'")
  return None  # Not reached.


def griffinlim(S, *, n_iter=32, hop_length=None, win_length=None, n_fft=None, window="hann",
               center=True, dtype=None, length=None, pad_mode="constant", momentum=0.99,
               init="random", random_state=None):
  """Waveform(s) from STFT magnitudes: librosa's `griffinlim`, tfspecinv's algorithm.

  `n_iter` Griffin-Lim iterations with librosa's momentum, from a PGHI phase
  estimate (Prusa et al. 2017) instead of random phase: at the defaults it
  takes less than librosa's time and fits `S` better (bench/results/compat.md).
  No L-BFGS stage: a few L-BFGS iterations after 32 Griffin-Lim ones raised
  the log-spectral distance on a noise-like clip (rain, 1.45 to 4.62 dB); for
  more quality per second use `tfspecinv.reconstruct`.

  Args:
    S: `[..., 1 + n_fft // 2, t]` non-negative STFT magnitudes, as
      `np.abs(librosa.stft(y))`; leading axes (channels) are inverted together.
    n_iter: Griffin-Lim iterations, as in librosa. 0: the start's inverse
      STFT alone.
    hop_length: Hop of the STFT; default `win_length // 4`.
    win_length: Window length; default `n_fft`.
    n_fft: FFT size; default `2 * (S.shape[-2] - 1)`.
    window: 'hann' (default), 'hamming', 'blackman', 'boxcar' (scipy names and
      aliases), or that window as an array or callable of `win_length`.
    center: Whether the STFT frames were centred.
    dtype: Real dtype of the result; default from `S` (float64 for float64 or
      complex128, else float32). Computation is in float64 for float64.
    length: Samples of the result (zero-padded or trimmed); default
      `hop_length * (t - 1)` when centred, as librosa's `istft`.
    pad_mode: The STFT's padding when centred: 'constant' (default),
      'reflect', 'symmetric' or 'edge'.
    momentum: Griffin-Lim momentum (>= 0; > 1 warns), as librosa.
    init: 'random' (default: no phase given; tfspecinv starts from PGHI when
      frames overlap by at least 75% with a Hann, Hamming or Blackman window,
      else from random phase) or None (zero phase, librosa's phase "from S").
    random_state: None (fresh entropy), an int seed, or a NumPy
      `RandomState`/`Generator` to draw one from; it seeds the random phase
      (and PGHI's phase of negligible cells).

  Returns:
    NumPy `[..., length]` of `dtype`.

  Raises:
    ParameterError: librosa's class (see `parameter_error`), for invalid
      arguments or input, or a window / pad mode tfspecinv does not model.
  """
  S = _array(S, "S")
  _iterations(n_iter)
  _check_momentum(momentum)
  seed = _seed(random_state)
  n_fft = 2 * (S.shape[-2] - 1) if n_fft is None else n_fft
  out_dtype = _output_dtype(dtype, S.dtype if S.dtype in (np.float32, np.float64)
                            else np.float32)
  config = _config(representation="stft", power=1.0,
                   **_stft_fields(n_fft, hop_length, win_length, window, center, pad_mode))
  start = _griffinlim_init(init, config)
  return _invert(S, config, n_iter, 0, length, out_dtype, seed, init=start, momentum=momentum)


def mel_to_stft(M, *, sr=22050, n_fft=2048, power=2.0, **kwargs):
  """STFT magnitudes from a mel spectrogram: librosa's `mel_to_stft`, tfspecinv's NNLS.

  Non-negative least squares `argmin_{X >= 0} ||mel_basis X - M||` by
  accelerated projected gradient (`NNLS_ITERATIONS` steps from the
  pseudo-inverse, `tfspecinv.mel_to_linear_nnls`), then `X ** (1 / power)`.
  Per frame, so the STFT's hop does not matter. No `n_iter`.

  Args:
    M: `[..., n_mels, t]` non-negative mel spectrogram, as
      `librosa.feature.melspectrogram`.
    sr: Sampling rate in Hz.
    n_fft: FFT size of the result.
    power: Exponent of the mel spectrogram (> 0; 2: power, 1: magnitude).
    **kwargs: The mel filter's `fmin`, `fmax`, `htk` and `norm` ('slaney' or
      None), as `librosa.filters.mel`.

  Returns:
    NumPy `[..., 1 + n_fft // 2, t]`, non-negative, of `M`'s float dtype.

  Raises:
    ParameterError: invalid arguments or input, or a numeric `norm`.
    TypeError: an unknown keyword argument.
  """
  M = _array(M, "M")
  mel = _mel_fields("mel_to_stft", sr, kwargs)
  if isinstance(power, bool) or not isinstance(power, numbers.Real) or not power > 0:
    _fail(f"power={power!r} must be a number > 0 (2 for a power mel spectrogram).")
  _check_int("n_fft", n_fft, minimum=2)
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from tfspecinv import mel as mel_lib  # pylint: disable=import-outside-toplevel
  from tfspecinv import validation  # pylint: disable=import-outside-toplevel
  config = _config(representation="mel", n_fft=int(n_fft), n_mels=M.shape[-2], **mel)
  out_dtype = M.dtype if M.dtype in (np.float32, np.float64) else np.dtype(np.float32)
  try:
    validation.check_spectrogram(M, config)
  except SpecInvError as error:
    _reraise(error)
  flat = M.reshape((-1,) + M.shape[-2:]).astype(out_dtype, copy=False)
  estimate = mel_lib.mel_to_linear_nnls(tf.constant(flat), config, NNLS_ITERATIONS).numpy()
  estimate = np.power(estimate, 1.0 / power) if power != 1 else estimate
  return estimate.reshape(M.shape[:-2] + estimate.shape[-2:]).astype(out_dtype, copy=False)


def mel_to_audio(M, *, sr=22050, n_fft=2048, hop_length=None, win_length=None, window="hann",
                 center=True, pad_mode="constant", power=2.0, n_iter=32, length=None,
                 dtype=np.float32, **kwargs):
  """Waveform(s) from a mel spectrogram: librosa's `mel_to_audio`, tfspecinv's algorithm.

  NNLS magnitude estimate, `n_iter` Griffin-Lim iterations from its PGHI phase
  (random phase for hops over 25 ms), then `LBFGS_PER_ITERATION * n_iter`
  L-BFGS iterations on the waveform against the mel bands themselves (not the
  estimated magnitudes, which Griffin-Lim alone can only approach). At the
  defaults, 32 + 320. Deterministic (seed 0); librosa's is random per call.

  Args:
    M: `[..., n_mels, t]` non-negative mel spectrogram, as
      `librosa.feature.melspectrogram(y=y, sr=sr)`; leading axes (channels)
      are inverted together.
    sr: Sampling rate in Hz.
    n_fft, hop_length, win_length, window, center, pad_mode: The STFT's, as
      `griffinlim` (hop default `win_length // 4`).
    power: 2 (power mel, default) or 1 (magnitude mel).
    n_iter: Griffin-Lim iterations (librosa's meaning), followed by
      `10 * n_iter` L-BFGS iterations: more is better and slower.
    length: Samples of the result (zero-padded or trimmed); default
      `hop_length * (t - 1)` when centred.
    dtype: Real dtype of the result (float32 default; float64 also computes
      in float64).
    **kwargs: The mel filter's `fmin`, `fmax`, `htk` and `norm` ('slaney' or
      None).

  Returns:
    NumPy `[..., length]` of `dtype`.

  Raises:
    ParameterError: invalid arguments or input, or what tfspecinv does not
      model (window, pad mode, power other than 1 or 2, numeric norm).
    TypeError: an unknown keyword argument.
  """
  M = _array(M, "M")
  mel = _mel_fields("mel_to_audio", sr, kwargs)
  n_iter = _iterations(n_iter)
  config = _config(representation="mel", power=_audio_power(power), n_mels=M.shape[-2],
                   **mel, **_stft_fields(n_fft, hop_length, win_length, window, center,
                                         pad_mode))
  return _invert(M, config, n_iter, LBFGS_PER_ITERATION * n_iter, length,
                 _output_dtype(dtype, np.float32), seed=0)


def _mfcc_fields(n_mels, dct_type, norm, ref, lifter):
  if dct_type not in (2, 3):
    _fail(f"dct_type={dct_type!r} is not supported by tfspecinv; use 2 (librosa's default) "
          "or 3.")
  if norm not in (None, "ortho"):
    _fail(f"norm={norm!r} is not supported; use 'ortho' (librosa's default) or None.")
  if isinstance(ref, bool) or not isinstance(ref, numbers.Real) or not ref > 0:
    _fail(f"ref={ref!r} must be a positive number (the power of 0 dB, 1.0 by default).")
  if isinstance(lifter, bool) or not isinstance(lifter, numbers.Real) or lifter < 0:
    _fail("MFCC to mel lifter must be a non-negative number.")
  _check_int("n_mels", n_mels, minimum=1)
  return dict(n_mels=int(n_mels), dct_type=int(dct_type),
              dct_norm="ortho" if norm == "ortho" else "none", ref=float(ref),
              lifter=float(lifter))


def mfcc_to_mel(mfcc, *, n_mels=128, dct_type=2, norm="ortho", ref=1.0, lifter=0):
  """Mel power spectrogram from MFCCs: librosa's `mfcc_to_mel`.

  Undoes the lifter, inverts the DCT with the coefficients beyond `n_mfcc`
  taken as zero (tfspecinv's DCT matrices), then `db_to_power(ref)`: librosa's
  values, to rounding. A closed form, so nothing to iterate (no `n_iter`);
  for orthonormal DCTs it is the least-squares inverse tfspecinv's MFCC
  pipeline starts from.

  Args:
    mfcc: `[..., n_mfcc, t]` MFCCs, as `librosa.feature.mfcc`.
    n_mels: Number of mel bands (`>= n_mfcc`).
    dct_type: 2 (default) or 3.
    norm: 'ortho' (default) or None.
    ref: Power of 0 dB.
    lifter: The cepstral lifter used (0: none).

  Returns:
    NumPy `[..., n_mels, t]` mel power spectrogram, float32 for float32
    input, else float64.

  Raises:
    ParameterError: invalid arguments (including `dct_type=1`) or input.
  """
  from tfspecinv import mfcc as mfcc_lib  # pylint: disable=import-outside-toplevel
  from tfspecinv import scaling  # pylint: disable=import-outside-toplevel
  mfcc = _array(mfcc, "mfcc")
  fields = _mfcc_fields(n_mels, dct_type, norm, ref, lifter)
  config = _config(representation="mfcc", scale="db", top_db=None, n_mfcc=mfcc.shape[-2],
                   **fields)
  if not np.all(np.isfinite(mfcc)):
    _fail("mfcc contains NaN or infinite values; fix the source or replace them "
          "(np.nan_to_num) first.")
  n_mfcc = config.n_mfcc
  full = mfcc_lib.dct_matrix(config.replace(n_mfcc=config.n_mels))  # [n_mels, n_mels]
  inverse = np.linalg.inv(full)[:, :n_mfcc] / mfcc_lib.lifter_weights(config)[None, :]
  log_mel = np.einsum("mk,...kt->...mt", inverse, mfcc.astype(np.float64))
  mel = scaling.unscale_amplitude(log_mel, config).numpy()
  return mel.astype(np.result_type(mfcc.dtype, np.float32), copy=False)


def mfcc_to_audio(mfcc, *, n_mels=128, dct_type=2, norm="ortho", ref=1.0, lifter=0, **kwargs):
  """Waveform(s) from MFCCs: librosa's `mfcc_to_audio`, tfspecinv's algorithm.

  The MFCCs of `librosa.feature.mfcc(y=y, sr=sr, ...)` (dB mel powers with
  `top_db=80`, DCT): a mel estimate from the DCT's least-squares inverse,
  NNLS magnitudes, `n_iter` Griffin-Lim iterations from PGHI, then
  `LBFGS_PER_ITERATION * n_iter` L-BFGS iterations on the waveform against
  the MFCCs themselves. At the defaults, 32 + 320. Deterministic (seed 0).

  Args:
    mfcc: `[..., n_mfcc, t]` MFCCs; leading axes (channels) are inverted
      together.
    n_mels, dct_type, norm, ref, lifter: As `mfcc_to_mel`.
    **kwargs: `mel_to_audio`'s: `sr`, `n_fft`, `hop_length`, `win_length`,
      `window`, `center`, `pad_mode`, `power`, `n_iter` (Griffin-Lim
      iterations, then `10 * n_iter` L-BFGS), `length`, `dtype`, and the mel
      filter's `fmin`, `fmax`, `htk`.

  Returns:
    NumPy `[..., length]` of `dtype` (float32 by default).

  Raises:
    ParameterError: invalid arguments or input, or what tfspecinv does not
      model.
    TypeError: an unknown keyword argument.
  """
  mfcc = _array(mfcc, "mfcc")
  fields = _mfcc_fields(n_mels, dct_type, norm, ref, lifter)
  audio = dict(sr=22050, n_fft=2048, hop_length=None, win_length=None, window="hann",
               center=True, pad_mode="constant", power=2.0, n_iter=32, length=None,
               dtype=np.float32)
  mel_kwargs = {k: v for k, v in kwargs.items() if k not in audio}
  audio.update({k: v for k, v in kwargs.items() if k in audio})
  mel = _mel_fields("mfcc_to_audio", audio["sr"], mel_kwargs)
  n_iter = _iterations(audio["n_iter"])
  config = _config(representation="mfcc", scale="db", top_db=80.0, n_mfcc=mfcc.shape[-2],
                   power=_audio_power(audio["power"]), **fields, **mel,
                   **_stft_fields(audio["n_fft"], audio["hop_length"], audio["win_length"],
                                  audio["window"], audio["center"], audio["pad_mode"]))
  return _invert(mfcc, config, n_iter, LBFGS_PER_ITERATION * n_iter, audio["length"],
                 _output_dtype(audio["dtype"], np.float32), seed=0)

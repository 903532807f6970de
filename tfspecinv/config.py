"""`SpectrogramConfig`: every STFT, mel, scaling and MFCC parameter in one frozen object.

A config says exactly how a representation was made from a waveform, so that
tfspecinv can rebuild the same forward model and invert it. Presets carry the
defaults of the libraries users bring spectrograms from (librosa, torchaudio,
tf_signal), of the models they run (hifigan, tacotron2, whisper, vocos,
espnet) and of TTS toolkits (coqui, keithito, rtvc): see `tfspecinv.conventions`:

>>> cfg = SpectrogramConfig.librosa(sample_rate=22050, n_fft=1024, hop_length=256,
...                                 n_mels=80, fmax=8000.0, representation="mel")
>>> cfg.n_bins, cfg.hop_length, cfg.mel_scale
(513, 256, 'slaney')

The config is validated once, at construction; messages name the parameter,
its value, the rule and the fix.
"""

import dataclasses
import math
import warnings
from typing import Optional, Tuple, Union

import numpy as np

from tfspecinv import filterbank  # NumPy only; imports nothing from tfspecinv.
from tfspecinv.errors import SpecInvError

__all__ = ["SpectrogramConfig", "WINDOWS", "PAD_MODES"]

WINDOWS = ("hann", "hamming", "blackman", "ones")
PAD_MODES = ("constant", "reflect", "symmetric", "edge")
REPRESENTATIONS = ("stft", "mel", "mfcc")
MEL_SCALES = ("slaney", "htk")
MEL_NORMS = ("slaney", "none")
MEL_VARIANTS = ("librosa", "torchaudio", "tf_signal")
SCALES = ("linear", "db", "log", "log1p")
DCT_NORMS = ("ortho", "none", "tf_signal")
LAYOUTS = ("bins_frames", "frames_bins")
WINDOW_ALIGNS = ("center", "left")
MAGNITUDE_EPS_MODES = ("add", "clamp")
DEFAULT_RULES = ("librosa", "torchaudio", "hifigan")
_DERIVED = ("win_length", "hop_length", "padding", "fmax", "amin")  # None: `_default`.


def _choice(name, value, allowed):
  if value not in allowed:
    raise SpecInvError(
        f"{name}={value!r} is not supported; use one of {', '.join(map(repr, allowed))}.")


def _real(value):
  """True for a finite real number (bools excluded)."""
  return (not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
          and math.isfinite(value))


def _positive_int(name, value):
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
    raise SpecInvError(f"{name}={value!r} must be a positive integer.")


def _feature_vector(name, value, positive):
  """A tuple of finite floats (> 0 if `positive`) from a sequence or 1-D array."""
  array = np.asarray(value)
  if array.ndim != 1 or array.size == 0 or array.dtype.kind not in "fiu":
    raise SpecInvError(
        f"{name} must be a 1-D sequence of numbers (one per feature), got "
        f"{type(value).__name__} of shape {array.shape}.")
  array = array.astype(np.float64)
  if not np.all(np.isfinite(array)):
    raise SpecInvError(f"{name} contains {int((~np.isfinite(array)).sum())} NaN or infinite "
                       "values; fix the stats it came from.")
  if positive and not np.all(array > 0):
    raise SpecInvError(
        f"{name} has {int((array <= 0).sum())} values <= 0 (min {array.min():g}); scales "
        "must be > 0 (a standard deviation of 0 is a constant feature: replace it by 1).")
  return tuple(float(v) for v in array)


def _clip_range(value):
  """`(low, high)` floats with low < high."""
  try:
    low, high = value
  except (TypeError, ValueError):
    raise SpecInvError(
        f"clip_range={value!r} must be a pair (low, high), e.g. (-4.0, 4.0), or None.") from None
  if not (_real(low) and _real(high) and low < high):
    raise SpecInvError(
        f"clip_range={value!r} must be two finite numbers with low < high, e.g. (-4.0, 4.0).")
  return (float(low), float(high))


@dataclasses.dataclass(frozen=True)
class SpectrogramConfig:
  """How a spectrogram was computed from audio (frozen, hashable, validated).

  Build it with a preset, `tfspecinv.conventions.make(name, **overrides)` or
  its one-line lookup `SpectrogramConfig.librosa(**overrides)`,
  `.torchaudio()`, `.hifigan()`, ..., or directly with keywords;
  `config.replace(**changes)` gives a modified copy.
  `n_bins`, `n_features`, `num_frames(samples)` and `num_samples(frames)`
  give the shapes.

  Example:
    >>> cfg = SpectrogramConfig.librosa(sample_rate=22050, n_fft=1024, hop_length=256,
    ...                                 n_mels=80, fmax=8000.0, representation="mel")
    >>> cfg.n_features, cfg.num_frames(22050), cfg.num_samples(87)
    (80, 87, 22016)

  Raises:
    SpecInvError: at construction, for an invalid combination, naming the
      parameter, the rule and the fix (e.g. `hop_length=2048 is larger than
      win_length=1024 ...`).

  Args (keyword arguments; each is also an attribute):
    sample_rate: Sampling rate of the audio in Hz.
    n_fft: FFT size; the spectrogram has `n_fft // 2 + 1` frequency bins.
    hop_length: Samples between successive frames. Default `win_length // 4`
      (`win_length // 2` with `defaults_from='torchaudio'`).
    win_length: Window length in samples, `<= n_fft`. Default `n_fft`.
    window: Periodic window: 'hann', 'hamming', 'blackman' or 'ones'.
    window_align: Where a window shorter than `n_fft` sits in the FFT frame:
      'center' (librosa, torch) or 'left' (tf.signal zero-pads at the end).
    center: Pad `n_fft // 2` samples on each side so frame t is centred at
      `t * hop_length` (librosa, torchaudio). tf.signal does not centre.
    padding: Samples padded on each side before framing, whatever `center`
      says. Default: `n_fft // 2` if `center`, else 0; with
      `defaults_from='hifigan'`, `(n_fft - hop_length) // 2` (HiFi-GAN pads
      so, then frames with `center=False`).
    pad_mode: Padding used whenever `padding > 0`: 'constant' (zeros,
      librosa >= 0.9), 'reflect' (torchaudio), 'symmetric' or 'edge'.
    power: 1 for magnitude, 2 for power spectrograms.
    magnitude_eps: Added to (or a floor on) the squared modulus
      `p = re^2 + im^2` before the power is taken; 0 for none.
    magnitude_eps_mode: 'add' (`sqrt(p + eps)`, HiFi-GAN / BigVGAN) or
      'clamp' (`sqrt(max(p, eps))`, ESPnet).
    drop_last_frame: The stored representation lacks the STFT's last frame
      (Whisper: `stft[..., :-1]`). `num_frames` / `num_samples` count stored
      frames, `num_stft_frames` / `stft_num_samples` the STFT's.
    representation: 'stft' (linear frequency), 'mel' or 'mfcc'.
    n_mels: Number of mel bands.
    fmin: Lowest mel band edge in Hz.
    fmax: Highest mel band edge in Hz. Default `sample_rate / 2`
      (`float(sample_rate // 2)` with `defaults_from='torchaudio'`).
    mel_scale: 'slaney' (librosa default) or 'htk'.
    mel_norm: 'slaney' (area normalisation, librosa default) or 'none'.
    mel_variant: How triangles are laid out: 'librosa' (linear in Hz on the
      FFT grid), 'torchaudio' (same, grid up to `sample_rate // 2`) or
      'tf_signal' (linear in mel, DC row zeroed, as
      `tf.signal.linear_to_mel_weight_matrix`).
    scale: Amplitude scale of the stored values: 'linear', 'db'
      (`power_to_db` / `amplitude_to_db`), 'log' (logarithm to `log_base` of
      `max(S + log_offset, amin)`) or 'log1p' (`log(1 + S)`).
    amin: Floor before taking logs. Default 1e-10 for power, 1e-5 for magnitude.
    ref: dB reference value, or 'max' for the per-example maximum.
    top_db: dB values below `max - top_db` are clipped (per example); None
      disables the clipping.
    log_offset: Added before the log ('log' scale), e.g. 1e-6 in the
      tf.signal MFCC example.
    log_base: Base of the 'log' scale: e (default), 10 or 2.
    log_range: 'log' values below the per-example maximum minus this are
      raised to it (Whisper: 8, in log10 units); None for no floor.
    affine_scale, affine_offset: The stored values are
      `scaled * affine_scale + affine_offset`, after any scale (Whisper:
      0.25 and 1.0 for `(x + 4) / 4`); `affine_scale > 0`.
    feature_mean, feature_scale: Per-feature standardisation after the scale
      and affine map: stored values are `(value - feature_mean[k]) /
      feature_scale[k]` for feature k (bin or mel band): a stats file of
      mean and standard deviation (Coqui TTS `stats_path`, TensorFlowTTS
      `stats.npy`). Each is None (mean 0 / scale 1) or a tuple of
      `n_features` finite numbers, scales > 0. Not for MFCCs.
    clip_range: `(low, high)`: stored values were clipped to
      `[low, high]` after all scaling (Coqui TTS `clip_norm`, keithito
      tacotron [0, 1], Real-Time-Voice-Cloning [-4, 4]); None for none.
      Values on a bound say only "at most / at least this": the loss does
      not penalise an estimate beyond them.
    preemphasis: The waveform was filtered `y[n] - preemphasis * y[n-1]`
      (with `y[-1] = 0`) before the STFT (Coqui TTS, keithito tacotron,
      Real-Time-Voice-Cloning: 0.97); `0 <= preemphasis < 1`, 0 for none.
      The forward model applies it; `reconstruct` inverts the emphasised
      signal and de-emphasises its result (`1 / (1 - preemphasis z^-1)`),
      so the returned waveform is the original's, high-passed below the
      lowest mel band (which the mel leaves undetermined and the
      de-emphasis would amplify).
    n_mfcc: Number of MFCC coefficients kept.
    dct_type: 2 (librosa, torchaudio, tf.signal) or 3.
    dct_norm: 'ortho' (librosa, torchaudio), 'none' (unnormalised) or
      'tf_signal' (unnormalised divided by `sqrt(2 * n_mels)`).
    lifter: Cepstral liftering coefficient (librosa), 0 for none.
    layout: 'bins_frames' (`[..., bins, frames]`, librosa, torchaudio) or
      'frames_bins' (`[..., frames, bins]`, tf.signal).
    defaults_from: Whose formulas give the fields left None (`hop_length`,
      `padding`, `fmax`): 'librosa', 'torchaudio' or 'hifigan'; `replace`
      derives them again by the same rules. Not compared: two configs with
      the same values are equal whatever rules gave them.
  """

  sample_rate: int = 22050
  n_fft: int = 2048
  hop_length: Optional[int] = None
  win_length: Optional[int] = None
  window: str = "hann"
  window_align: str = "center"
  center: bool = True
  padding: Optional[int] = None
  pad_mode: str = "constant"
  power: float = 2.0
  magnitude_eps: float = 0.0
  magnitude_eps_mode: str = "add"
  drop_last_frame: bool = False
  representation: str = "stft"
  n_mels: int = 128
  fmin: float = 0.0
  fmax: Optional[float] = None
  mel_scale: str = "slaney"
  mel_norm: str = "slaney"
  mel_variant: str = "librosa"
  scale: str = "linear"
  amin: Optional[float] = None
  ref: Union[float, str] = 1.0
  top_db: Optional[float] = 80.0
  log_offset: float = 0.0
  log_base: float = math.e
  log_range: Optional[float] = None
  affine_scale: float = 1.0
  affine_offset: float = 0.0
  n_mfcc: int = 20
  dct_type: int = 2
  dct_norm: str = "ortho"
  lifter: float = 0.0
  layout: str = "bins_frames"
  feature_mean: Optional[Tuple[float, ...]] = None
  feature_scale: Optional[Tuple[float, ...]] = None
  clip_range: Optional[Tuple[float, float]] = None
  preemphasis: float = 0.0
  defaults_from: str = dataclasses.field(default="librosa", compare=False)

  # ---------------------------------------------------------------- presets
  # One-line lookups of `tfspecinv.conventions.PRESETS`, where each preset is
  # written down (fields, upstream source, documentation).
  @classmethod
  def librosa(cls, **overrides) -> "SpectrogramConfig":
    """librosa >= 0.9 defaults: centred, zero padding, Slaney mel, power 2."""
    return _preset(cls, "librosa", overrides)

  @classmethod
  def torchaudio(cls, **overrides) -> "SpectrogramConfig":
    """torchaudio.transforms defaults: reflect padding, HTK mel without norm."""
    return _preset(cls, "torchaudio", overrides)

  @classmethod
  def tf_signal(cls, **overrides) -> "SpectrogramConfig":
    """tf.signal as in its MFCC guide: no centring, magnitude, `[..., frames, bins]`."""
    return _preset(cls, "tf_signal", overrides)

  @classmethod
  def hifigan(cls, **overrides) -> "SpectrogramConfig":
    """HiFi-GAN / BigVGAN `meldataset.py` `mel_spectrogram`."""
    return _preset(cls, "hifigan", overrides)

  @classmethod
  def tacotron2(cls, **overrides) -> "SpectrogramConfig":
    """NVIDIA tacotron2 `TacotronSTFT`."""
    return _preset(cls, "tacotron2", overrides)

  @classmethod
  def whisper(cls, **overrides) -> "SpectrogramConfig":
    """openai/whisper `log_mel_spectrogram`."""
    return _preset(cls, "whisper", overrides)

  @classmethod
  def vocos(cls, **overrides) -> "SpectrogramConfig":
    """Vocos `MelSpectrogramFeatures`."""
    return _preset(cls, "vocos", overrides)

  @classmethod
  def espnet(cls, **overrides) -> "SpectrogramConfig":
    """ESPnet2 TTS `LogMelFbank`."""
    return _preset(cls, "espnet", overrides)

  @classmethod
  def coqui(cls, **overrides) -> "SpectrogramConfig":
    """Coqui TTS `AudioProcessor.melspectrogram` (takes Coqui's own field names too)."""
    return _preset(cls, "coqui", overrides)

  @classmethod
  def keithito(cls, **overrides) -> "SpectrogramConfig":
    """keithito/tacotron `util/audio.py` `melspectrogram` (takes its hparams names too)."""
    return _preset(cls, "keithito", overrides)

  @classmethod
  def rtvc(cls, **overrides) -> "SpectrogramConfig":
    """Real-Time-Voice-Cloning `synthesizer/audio.py` (takes its hparams names too)."""
    return _preset(cls, "rtvc", overrides)

  @classmethod
  def tensorflowtts(cls, **overrides) -> "SpectrogramConfig":
    """TensorFlowTTS `preprocess.py` log10 mels."""
    return _preset(cls, "tensorflowtts", overrides)

  @classmethod
  def riffusion(cls, **overrides) -> "SpectrogramConfig":
    """Riffusion `SpectrogramConverter`."""
    return _preset(cls, "riffusion", overrides)

  @classmethod
  def audio_diffusion(cls, **overrides) -> "SpectrogramConfig":
    """teticio/audio-diffusion `Mel`."""
    return _preset(cls, "audio_diffusion", overrides)

  def replace(self, **changes) -> "SpectrogramConfig":
    """A copy with some fields changed, validated again.

    Fields that were derived from others (left None: e.g. `win_length` from
    `n_fft`, `padding` from `n_fft` and `center`, `amin` from `power`) are
    derived again, by the same `defaults_from` rules, unless given.
    """
    fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
              if f.name not in self._derived}
    fields.update(changes)
    return type(self)(**fields)

  # ------------------------------------------------------- derived defaults
  def _default(self, name):
    """The value of field `name` when it is left None: every derived default is here.

    `defaults_from` picks whose formulas: 'librosa' (`stft`: hop
    `win_length // 4`, centring pads `n_fft // 2`; `filters.mel`: fmax
    `sr / 2`), 'torchaudio' (`Spectrogram`: hop `win_length // 2`;
    `MelScale`: f_max `float(sample_rate // 2)`) or 'hifigan'
    (`meldataset.py`: reflect padding `(n_fft - hop_size) / 2`, whatever
    `center` says). Fields this reads are resolved before it is called.
    """
    rules = self.defaults_from
    if name == "win_length":
      return self.n_fft
    if name == "hop_length":
      return max(1, self.win_length // (2 if rules == "torchaudio" else 4))
    if name == "padding":
      if rules == "hifigan":
        return (self.n_fft - self.hop_length) // 2
      return self.n_fft // 2 if self.center else 0
    if name == "fmax":
      return float(self.sample_rate // 2) if rules == "torchaudio" else self.sample_rate / 2.0
    if name == "amin":
      return 1e-10 if self.power == 2 else 1e-5
    raise KeyError(name)

  def _resolve(self, name):
    """Fill field `name` from `_default` if it was left None."""
    if getattr(self, name) is None:
      object.__setattr__(self, name, self._default(name))

  # ------------------------------------------------------------- validation
  def __post_init__(self):
    set_ = lambda name, value: object.__setattr__(self, name, value)
    set_("_derived", frozenset(name for name in _DERIVED if getattr(self, name) is None))
    _choice("defaults_from", self.defaults_from, DEFAULT_RULES)
    _positive_int("sample_rate", self.sample_rate)
    _positive_int("n_fft", self.n_fft)
    if self.n_fft < 2:
      raise SpecInvError(f"n_fft={self.n_fft} must be at least 2.")
    self._resolve("win_length")
    _positive_int("win_length", self.win_length)
    if self.win_length > self.n_fft:
      raise SpecInvError(
          f"win_length={self.win_length} is larger than n_fft={self.n_fft}; "
          f"use win_length <= n_fft or raise n_fft to at least {self.win_length}.")
    self._resolve("hop_length")
    _positive_int("hop_length", self.hop_length)
    if self.hop_length > self.win_length:
      raise SpecInvError(
          f"hop_length={self.hop_length} is larger than win_length={self.win_length}: "
          "frames would skip samples and the signal cannot be recovered; "
          f"use hop_length <= {self.win_length} (typically win_length // 4).")
    _choice("window", self.window, WINDOWS)
    _choice("window_align", self.window_align, WINDOW_ALIGNS)
    _choice("pad_mode", self.pad_mode, PAD_MODES)
    set_("center", bool(self.center))
    self._validate_padding()
    if self.power not in (1, 2):
      raise SpecInvError(
          f"power={self.power!r} is not supported; use 1 (magnitude) or 2 (power).")
    set_("power", float(self.power))
    self._validate_magnitude()
    _choice("representation", self.representation, REPRESENTATIONS)
    self._validate_stored_values()  # Before the filterbank cache hashes the config.
    self._validate_mel()
    self._validate_scale()
    self._validate_mfcc()
    _choice("layout", self.layout, LAYOUTS)

  def _validate_padding(self):
    self._resolve("padding")
    if (isinstance(self.padding, bool) or not isinstance(self.padding, (int, np.integer))
        or self.padding < 0):
      raise SpecInvError(
          f"padding={self.padding!r} must be an integer >= 0 (samples padded on each side), "
          "or None for the `defaults_from` rule (n_fft // 2 when centred, else 0).")
    object.__setattr__(self, "padding", int(self.padding))

  def _validate_magnitude(self):
    if not (_real(self.magnitude_eps) and self.magnitude_eps >= 0):
      raise SpecInvError(
          f"magnitude_eps={self.magnitude_eps!r} must be a finite number >= 0 (e.g. 1e-9).")
    object.__setattr__(self, "magnitude_eps", float(self.magnitude_eps))
    _choice("magnitude_eps_mode", self.magnitude_eps_mode, MAGNITUDE_EPS_MODES)
    if not isinstance(self.drop_last_frame, (bool, np.bool_)):
      raise SpecInvError(f"drop_last_frame={self.drop_last_frame!r} must be True or False.")
    object.__setattr__(self, "drop_last_frame", bool(self.drop_last_frame))

  def _validate_mel(self):
    set_ = lambda name, value: object.__setattr__(self, name, value)
    _positive_int("n_mels", self.n_mels)
    nyquist = self.sample_rate / 2.0
    self._resolve("fmax")
    set_("fmin", float(self.fmin))
    set_("fmax", float(self.fmax))
    if not math.isfinite(self.fmin) or self.fmin < 0:
      raise SpecInvError(f"fmin={self.fmin} must be a finite frequency >= 0 Hz.")
    if self.fmax > nyquist + 1e-9:
      raise SpecInvError(
          f"fmax={self.fmax:g} Hz is above the Nyquist frequency sample_rate/2 = "
          f"{nyquist:g} Hz; lower fmax or check sample_rate={self.sample_rate} "
          "(it must be the rate the spectrogram was made at).")
    if self.fmin >= self.fmax:
      raise SpecInvError(f"fmin={self.fmin:g} Hz must be below fmax={self.fmax:g} Hz.")
    _choice("mel_scale", self.mel_scale, MEL_SCALES)
    _choice("mel_norm", self.mel_norm, MEL_NORMS)
    _choice("mel_variant", self.mel_variant, MEL_VARIANTS)
    if self.mel_variant == "tf_signal" and (self.mel_scale, self.mel_norm) != ("htk", "none"):
      raise SpecInvError(
          f"mel_variant='tf_signal' builds HTK triangles without norm, but mel_scale="
          f"{self.mel_scale!r}, mel_norm={self.mel_norm!r}; set mel_scale='htk', "
          "mel_norm='none' or choose mel_variant='librosa'.")
    if self.representation in ("mel", "mfcc"):
      empty = filterbank.empty_filters(self)
      if empty:
        warnings.warn(
            f"n_mels={self.n_mels} with n_fft={self.n_fft} between fmin={self.fmin:g} and "
            f"fmax={self.fmax:g} Hz leaves mel filters {empty} without any FFT bin: they are "
            "empty (all-zero rows, as in the library that made them) and carry nothing; use "
            "fewer n_mels or a larger n_fft to avoid them.", UserWarning, stacklevel=4)

  def _validate_scale(self):
    set_ = lambda name, value: object.__setattr__(self, name, value)
    _choice("scale", self.scale, SCALES)
    self._resolve("amin")
    if not (self.amin > 0 and math.isfinite(self.amin)):
      raise SpecInvError(f"amin={self.amin!r} must be a positive number (e.g. 1e-10).")
    if isinstance(self.ref, str):
      _choice("ref", self.ref, ("max",))
    elif not (self.ref > 0 and math.isfinite(self.ref)):
      raise SpecInvError(f"ref={self.ref!r} must be a positive number or 'max'.")
    else:
      set_("ref", float(self.ref))
    if self.top_db is not None:
      if not self.top_db >= 0:
        raise SpecInvError(f"top_db={self.top_db!r} must be >= 0, or None for no clipping.")
      set_("top_db", float(self.top_db))
    if not (self.log_offset >= 0 and math.isfinite(self.log_offset)):
      raise SpecInvError(f"log_offset={self.log_offset!r} must be a finite number >= 0.")
    self._validate_log_and_affine()

  def _validate_log_and_affine(self):
    set_ = lambda name, value: object.__setattr__(self, name, value)
    if not (_real(self.log_base) and self.log_base > 0 and self.log_base != 1):
      raise SpecInvError(
          f"log_base={self.log_base!r} must be a finite number > 0 other than 1 "
          "(math.e, 10 or 2).")
    set_("log_base", float(self.log_base))
    if self.log_range is not None:
      if not (_real(self.log_range) and self.log_range > 0):
        raise SpecInvError(
            f"log_range={self.log_range!r} must be a finite number > 0 (e.g. 8 for Whisper), "
            "or None for no floor.")
      set_("log_range", float(self.log_range))
    if not (_real(self.affine_scale) and self.affine_scale > 0):
      raise SpecInvError(
          f"affine_scale={self.affine_scale!r} must be a finite number > 0 (stored values "
          "are scaled * affine_scale + affine_offset).")
    if not _real(self.affine_offset):
      raise SpecInvError(f"affine_offset={self.affine_offset!r} must be a finite number.")
    set_("affine_scale", float(self.affine_scale))
    set_("affine_offset", float(self.affine_offset))

  def _validate_stored_values(self):
    """feature_mean / feature_scale, clip_range and preemphasis."""
    set_ = lambda name, value: object.__setattr__(self, name, value)
    _positive_int("n_mels", self.n_mels)
    _positive_int("n_mfcc", self.n_mfcc)
    for name, positive in (("feature_mean", False), ("feature_scale", True)):
      value = getattr(self, name)
      if value is None:
        continue
      set_(name, _feature_vector(name, value, positive))
      if self.representation == "mfcc":
        raise SpecInvError(
            f"{name} standardises mel or STFT features; representation='mfcc' does not take "
            f"it: drop {name} or use representation='mel'.")
      if len(getattr(self, name)) != self.n_features:
        raise SpecInvError(
            f"{name} has {len(getattr(self, name))} values but the config has "
            f"{self.n_features} features ({self._feature_words()}); give one value per "
            "feature (a stats file of another model?) or fix the config.")
    if self.clip_range is not None:
      set_("clip_range", _clip_range(self.clip_range))
    if not (_real(self.preemphasis) and 0.0 <= self.preemphasis < 1.0):
      raise SpecInvError(
          f"preemphasis={self.preemphasis!r} must be a number with 0 <= preemphasis < 1 "
          "(e.g. 0.97; 0 for none).")
    set_("preemphasis", float(self.preemphasis))

  def _feature_words(self):
    if self.representation == "stft":
      return f"n_fft={self.n_fft} gives {self.n_bins} bins"
    return f"n_mels={self.n_mels}"

  def _validate_mfcc(self):
    _positive_int("n_mfcc", self.n_mfcc)
    if self.representation == "mfcc" and self.n_mfcc > self.n_mels:
      raise SpecInvError(
          f"n_mfcc={self.n_mfcc} exceeds n_mels={self.n_mels}; use n_mfcc <= n_mels.")
    if self.dct_type not in (2, 3):
      raise SpecInvError(f"dct_type={self.dct_type!r} is not supported; use 2 or 3.")
    _choice("dct_norm", self.dct_norm, DCT_NORMS)
    if not (self.lifter >= 0 and math.isfinite(self.lifter)):
      raise SpecInvError(f"lifter={self.lifter!r} must be >= 0 (0 disables liftering).")

  # --------------------------------------------------------- derived values
  @property
  def n_bins(self) -> int:
    """Number of one-sided FFT bins, `n_fft // 2 + 1`."""
    return self.n_fft // 2 + 1

  @property
  def n_features(self) -> int:
    """Size of the feature axis of the representation (bins, mels or MFCCs)."""
    return {"stft": self.n_bins, "mel": self.n_mels, "mfcc": self.n_mfcc}[self.representation]

  @property
  def window_offset(self) -> int:
    """Position of the window's first sample inside the `n_fft` FFT frame."""
    if self.window_align == "center":
      return (self.n_fft - self.win_length) // 2
    return 0

  def num_frames(self, num_samples: int) -> int:
    """Stored frames for a signal of `num_samples` samples (one less than the
    STFT's with `drop_last_frame`)."""
    return max(self.num_stft_frames(num_samples) - int(self.drop_last_frame), 0)

  def num_samples(self, num_frames: int) -> int:
    """Default signal length for `num_frames` stored frames (librosa's istft rule)."""
    return self.stft_num_samples(num_frames + int(self.drop_last_frame))

  def num_stft_frames(self, num_samples: int) -> int:
    """Frames the STFT itself produces for a signal of `num_samples` samples."""
    span = num_samples + 2 * self.padding - self.frame_span
    return 0 if span < 0 else 1 + span // self.hop_length

  def stft_num_samples(self, num_stft_frames):
    """Default signal length for `num_stft_frames` STFT frames (int or int Tensor)."""
    return self.frame_span - 2 * self.padding + self.hop_length * (num_stft_frames - 1)

  @property
  def frame_span(self) -> int:
    """Padded samples one frame spans: `n_fft` (librosa, torch) or `win_length` (tf.signal)."""
    return self.n_fft if self.window_align == "center" else self.win_length


def _preset(cls, name, overrides):
  """`cls` built from preset `name` of `tfspecinv.conventions` with `overrides`.

  The presets are data in `conventions`, which imports this module to build
  configs; this module imports it only here, when a preset is asked for, so
  that the module-level imports go one way.
  """
  from tfspecinv import conventions  # pylint: disable=import-outside-toplevel
  return cls(**conventions.get(name).config_fields(**overrides))

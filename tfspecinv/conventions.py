"""Presets: the spectrogram conventions of libraries and of the models people run, as data.

Each preset is a `Preset` record in `PRESETS`: its name, the upstream file
its fields were written from, its `SpectrogramConfig` fields, and, for the
TTS toolkits, the toolkit's own parameter names with their defaults.
`make(name, **overrides)` builds the config (any field may be overridden by
keyword), `get(name)` returns the record, `NAMES` lists the names. Fields a
preset leaves out are derived by `SpectrogramConfig` from the others, by the
preset's `defaults_from` rules (e.g. HiFi-GAN's padding from `n_fft` and
`hop_length`), also after `config.replace(...)`.

>>> cfg = make("hifigan")
>>> cfg.sample_rate, cfg.n_mels, cfg.padding, cfg.center
(22050, 80, 384, False)

The TTS toolkits (`coqui`, `keithito`, `rtvc`) store dB mels normalised to
a range and clipped; their presets take the toolkit's own parameter names
too (`make("coqui", ref_level_db=..., min_level_db=...)`), and
`from_coqui_audio(config_json["audio"])` reads a Coqui TTS model config.
"""

import dataclasses
import math
import types
from typing import Callable, Mapping, Optional

from tfspecinv.config import SpectrogramConfig
from tfspecinv.errors import SpecInvError

__all__ = ["Preset", "PRESETS", "NAMES", "get", "make", "from_coqui_audio", "COQUI_IGNORED"]


@dataclasses.dataclass(frozen=True, eq=False)
class Preset:
  """One project's convention: the `SpectrogramConfig` fields its published code uses.

  Calling it, `preset(**overrides)`, is `make(preset.name, **overrides)`.

  Attributes:
    name: The name (`--convention`, `make(name)`).
    source: The upstream project and file the fields were written from.
    doc: What the upstream code does, step by step, and what may be overridden.
    fields: `SpectrogramConfig` fields (read-only mapping); the others keep
      the class defaults or are derived (`defaults_from`).
    own: The toolkit's own parameter names with its defaults (read-only
      mapping; empty for most), taken as overrides too.
    translate: For presets with `own` names or variants: a function
      `(fields, overrides) -> config fields`; None: overrides replace fields.
  """

  name: str
  source: str
  doc: str
  fields: Mapping[str, object]
  own: Mapping[str, object] = dataclasses.field(default_factory=lambda: types.MappingProxyType({}))
  translate: Optional[Callable[[dict, dict], dict]] = None

  def config_fields(self, **overrides) -> dict:
    """The keyword arguments of `SpectrogramConfig` for this preset with `overrides`.

    Raises:
      SpecInvError: a toolkit parameter with a value the toolkit refuses.
    """
    if self.translate is None:
      return {**self.fields, **overrides}
    return self.translate(dict(self.fields), dict(overrides))

  def __call__(self, **overrides) -> SpectrogramConfig:
    """`SpectrogramConfig(**self.config_fields(**overrides))`."""
    return SpectrogramConfig(**self.config_fields(**overrides))


def _preset(name, source, doc, fields, own=None, translate=None):
  return Preset(name, source, doc, types.MappingProxyType(dict(fields)),
                types.MappingProxyType(dict(own or {})), translate)


def _error(message):
  return SpecInvError(message)


# --------------------------------------------------------------- libraries
LIBROSA = _preset(
    "librosa", "librosa/librosa: `core/spectrum.py` `stft`, `filters.py` `mel`, `power_to_db`",
    """librosa >= 0.9 defaults: the `SpectrogramConfig` class defaults.

    `stft` (centred, zero padding, periodic Hann, win_length n_fft, hop
    win_length // 4), `feature.melspectrogram` (power 2, 128 Slaney mels,
    0 Hz to sr / 2), `power_to_db` (amin 1e-10, ref 1, top_db 80), `mfcc`
    (20 coefficients, DCT-II ortho), `[..., bins, frames]`.""",
    {})

TORCHAUDIO = _preset(
    "torchaudio", "pytorch/audio: `src/torchaudio/transforms/_transforms.py`",
    """torchaudio.transforms defaults: reflect padding, HTK mel without norm.

    `Spectrogram` / `MelSpectrogram` / `AmplitudeToDB` / `MFCC`: 16 kHz,
    n_fft 400, hop `win_length // 2`, 128 mels up to `float(sample_rate //
    2)`, 40 MFCCs, top_db None.""",
    dict(sample_rate=16000, n_fft=400, pad_mode="reflect", mel_scale="htk", mel_norm="none",
         mel_variant="torchaudio", top_db=None, n_mfcc=40, defaults_from="torchaudio"))

TF_SIGNAL = _preset(
    "tf_signal", "tensorflow: `tf.signal.mfccs_from_log_mel_spectrograms` documentation example",
    """tf.signal as in its MFCC guide: no centring, magnitude, HTK mel in mel space.

    `tf.signal.stft(frame_length=1024, frame_step=256)`, `tf.abs`,
    `linear_to_mel_weight_matrix(80, ..., 16000, 80.0, 7600.0)`,
    `log(mel + 1e-6)`, `mfccs_from_log_mel_spectrograms` (13 kept); layout
    `[..., frames, bins]`.""",
    dict(sample_rate=16000, n_fft=1024, hop_length=256, center=False, window_align="left",
         power=1.0, n_mels=80, fmin=80.0, fmax=7600.0, mel_scale="htk", mel_norm="none",
         mel_variant="tf_signal", log_offset=1e-6,
         amin=2.0 ** -126,  # np.finfo(np.float32).tiny: tf.math.log of 0 without the offset.
         top_db=None, n_mfcc=13, dct_norm="tf_signal", layout="frames_bins"))


# ------------------------------------------------------------------ models
# BigVGAN-v2 `bigvgan_v2_24khz_100band_256x.json`: what `sample_rate=24000` or
# `n_mels=100` selects in the hifigan preset.
_BIGVGAN_V2_24K = dict(sample_rate=24000, n_mels=100, fmax=None)


def _hifigan(fields, overrides):
  if overrides.get("sample_rate") == 24000 or overrides.get("n_mels") == 100:
    fields.update(_BIGVGAN_V2_24K)
  return {**fields, **overrides}


HIFIGAN = _preset(
    "hifigan", "jik876/hifi-gan: `meldataset.py` `mel_spectrogram`, `config_v1.json`; "
    "NVIDIA/BigVGAN: `configs/bigvgan_v2_24khz_100band_256x.json`",
    """HiFi-GAN / BigVGAN: `meldataset.py` `mel_spectrogram`.

    Reflect padding of `(n_fft - hop_size) / 2` on each side,
    `torch.stft(center=False)` with a periodic Hann window, magnitude
    `sqrt(re^2 + im^2 + 1e-9)`, librosa's Slaney mel basis,
    `log(clamp(mel, min=1e-5))`. Defaults are HiFi-GAN v1 (`config_v1.json`):
    22050 Hz, n_fft 1024, hop 256, win 1024, 80 mels, 0-8000 Hz.

    With `sample_rate=24000` or `n_mels=100` the defaults are BigVGAN-v2's
    `bigvgan_v2_24khz_100band_256x.json` instead: 24000 Hz, 100 mels, fmin 0,
    fmax None (librosa: sample_rate / 2 = 12000 Hz).

    The padding follows `n_fft` and `hop_length` (`defaults_from='hifigan'`),
    also after `config.replace(n_fft=...)`, unless `padding` is given.""",
    dict(sample_rate=22050, n_fft=1024, hop_length=256, win_length=1024, center=False,
         pad_mode="reflect", power=1.0, magnitude_eps=1e-9, magnitude_eps_mode="add",
         representation="mel", n_mels=80, fmin=0.0, fmax=8000.0, mel_scale="slaney",
         mel_norm="slaney", scale="log", amin=1e-5, defaults_from="hifigan"),
    translate=_hifigan)

TACOTRON2 = _preset(
    "tacotron2", "NVIDIA/tacotron2: `layers.py` `TacotronSTFT`, `stft.py` `STFT`, `hparams.py`",
    """NVIDIA tacotron2: `layers.py` `TacotronSTFT.mel_spectrogram` with `stft.py` `STFT`.

    Centred reflect padding of `filter_length / 2`, periodic Hann window
    (scipy `get_window(fftbins=True)`, centred in the frame), magnitude,
    librosa's Slaney mel basis, `dynamic_range_compression` =
    `log(clamp(mel, 1e-5))`. Defaults (`hparams.py`): 22050 Hz,
    filter_length 1024, hop 256, win 1024, 80 mels, 0-8000 Hz.""",
    dict(sample_rate=22050, n_fft=1024, hop_length=256, win_length=1024, center=True,
         pad_mode="reflect", power=1.0, representation="mel", n_mels=80, fmin=0.0, fmax=8000.0,
         mel_scale="slaney", mel_norm="slaney", scale="log", amin=1e-5))

WHISPER = _preset(
    "whisper", "openai/whisper: `whisper/audio.py` `log_mel_spectrogram`",
    """openai/whisper: `whisper/audio.py` `log_mel_spectrogram`.

    16 kHz, N_FFT 400, HOP_LENGTH 160, `torch.hann_window(N_FFT)`,
    `torch.stft` centred with reflect padding, power `|X|^2` with the last
    frame dropped (`stft[..., :-1]`), librosa's Slaney mel filters (80 mels,
    or 128 for large-v3: pass `n_mels=128`), `log10(clamp(mel, 1e-10))`,
    floored at the maximum minus 8 (per example here; Whisper takes the
    maximum of its whole input, the same for one clip), then `(x + 4) / 4`.""",
    dict(sample_rate=16000, n_fft=400, hop_length=160, center=True, pad_mode="reflect",
         power=2.0, drop_last_frame=True, representation="mel", n_mels=80, fmin=0.0,
         mel_scale="slaney", mel_norm="slaney", scale="log", log_base=10.0, amin=1e-10,
         log_range=8.0, affine_scale=0.25, affine_offset=1.0))

VOCOS = _preset(
    "vocos", "gemelo-ai/vocos: `vocos/feature_extractors.py` `MelSpectrogramFeatures`, "
    "charactr/vocos-mel-24khz `config.yaml`",
    """Vocos: `vocos/feature_extractors.py` `MelSpectrogramFeatures` (vocos-mel-24khz).

    torchaudio `MelSpectrogram(sample_rate=24000, n_fft=1024, hop_length=256,
    n_mels=100, center=True, power=1)` with torchaudio's defaults (reflect
    padding, win_length n_fft, HTK mel without norm, f_max
    `float(sample_rate // 2)`), then `safe_log` = `log(clip(mel, min=1e-7))`.""",
    dict(sample_rate=24000, n_fft=1024, hop_length=256, center=True, pad_mode="reflect",
         power=1.0, representation="mel", n_mels=100, fmin=0.0, mel_scale="htk",
         mel_norm="none", mel_variant="torchaudio", scale="log", amin=1e-7,
         defaults_from="torchaudio"))

ESPNET = _preset(
    "espnet", "espnet/espnet: `espnet2/tts/feats_extract/log_mel_fbank.py` `LogMelFbank`, "
    "`espnet2/layers/stft.py`, `espnet2/layers/log_mel.py`",
    """ESPnet2 TTS: `espnet2/tts/feats_extract/log_mel_fbank.py` `LogMelFbank`.

    `espnet2/layers/stft.py` `Stft` (`torch.stft`, centred, reflect padding,
    periodic Hann, win_length n_fft), amplitude `sqrt(clamp(re^2 + im^2,
    min=1e-10))`, then `espnet2/layers/log_mel.py` `LogMel` with librosa's
    Slaney mel basis, `log10(clamp(mel, min=1e-10))`. n_fft 1024, hop 256,
    80 mels, 80-7600 Hz; sample rate 22050 (the usual TTS recipe values;
    `LogMelFbank` itself defaults to 16000 and fmin/fmax None: override
    them). Features are `[frames, mels]`.""",
    dict(sample_rate=22050, n_fft=1024, hop_length=256, center=True, pad_mode="reflect",
         power=1.0, magnitude_eps=1e-10, magnitude_eps_mode="clamp", representation="mel",
         n_mels=80, fmin=80.0, fmax=7600.0, mel_scale="slaney", mel_norm="slaney", scale="log",
         log_base=10.0, amin=1e-10, layout="frames_bins"))

TENSORFLOWTTS = _preset(
    "tensorflowtts", "TensorSpeech/TensorFlowTTS: `tensorflow_tts/bin/preprocess.py`, "
    "`preprocess/ljspeech_preprocess.yaml`",
    """TensorFlowTTS: `tensorflow_tts/bin/preprocess.py` (`gen_audio_features`, `logmelfilterbank`).

    `librosa.stft(pad_mode="reflect")` (centred, periodic Hann, win_length
    null = n_fft), `|X|`, `librosa.filters.mel(sr, fft_size, num_mels, fmin,
    fmax)` (Slaney), `log10(maximum(mel, 1e-10))`, stored `[frames, mels]`.
    Defaults are `preprocess/ljspeech_preprocess.yaml`: 22050 Hz, fft 1024,
    hop 256, 80 mels, 80-7600 Hz. These are the raw features (`raw-feats`);
    the models are trained on `norm-feats`, `(x - mean) / scale` with the
    `stats.npy` of a scikit-learn `StandardScaler`: pass `feature_mean` and
    `feature_scale` (`tfspecinv.stats.read_stats`; command line:
    `--stats=stats.npy`).""",
    dict(sample_rate=22050, n_fft=1024, hop_length=256, center=True, pad_mode="reflect",
         power=1.0, representation="mel", n_mels=80, fmin=80.0, fmax=7600.0,
         mel_scale="slaney", mel_norm="slaney", scale="log", log_base=10.0, amin=1e-10,
         layout="frames_bins"))

RIFFUSION = _preset(
    "riffusion", "riffusion/riffusion: `riffusion/spectrogram_converter.py`, "
    "`riffusion/spectrogram_params.py`",
    """Riffusion: `riffusion/spectrogram_converter.py` with `spectrogram_params.py` defaults.

    torchaudio `Spectrogram(n_fft, hop_length, win_length, power=None,
    center=True, pad_mode='reflect')` (periodic Hann of `win_length` centred
    in the `n_fft` frame), `abs`, then `MelScale(n_mels=512, f_min=0,
    f_max=10000, norm=None, mel_scale='htk')` (torchaudio's layout). From
    `SpectrogramParams`: 44100 Hz, step 10 ms (hop 441), window 100 ms (4410),
    padded 400 ms (n_fft 17640). Its pictures (512x512, one column a frame)
    hold `(mel / max) ** 0.25`, loud dark: `tfspecinv.image.PICTURE_MAPS
    ['riffusion']`, which the command line applies to a picture by itself.""",
    dict(sample_rate=44100, n_fft=17640, hop_length=441, win_length=4410, center=True,
         pad_mode="reflect", power=1.0, representation="mel", n_mels=512, fmin=0.0,
         fmax=10000.0, mel_scale="htk", mel_norm="none", mel_variant="torchaudio",
         scale="linear", defaults_from="torchaudio"))

AUDIO_DIFFUSION = _preset(
    "audio_diffusion", "teticio/audio-diffusion: `audiodiffusion/mel.py` `Mel`",
    """teticio/audio-diffusion: `audiodiffusion/mel.py` `Mel.audio_slice_to_image` defaults.

    `librosa.feature.melspectrogram(y, sr=22050, n_fft=2048, hop_length=512,
    n_mels=y_res=256)` (librosa's defaults otherwise: centred, zero padding,
    Slaney mel, power 2), `power_to_db(S, ref=np.max, top_db=80)`. Its
    pictures (256x256, a slice of `x_res * hop_length - 1` samples) hold
    `(dB + 80) * 255 / 80` rounded, row 0 the first mel band:
    `tfspecinv.image.PICTURE_MAPS['audio_diffusion']`, which the command
    line applies to a picture by itself.""",
    dict(sample_rate=22050, n_fft=2048, hop_length=512, representation="mel", n_mels=256,
         scale="db", ref="max", top_db=80.0))


# ------------------------------------------------------------ TTS toolkits
def _take(fields, names, preset):
  """Pop the toolkit's own parameters `names` (a dict of defaults) out of `fields`."""
  taken = {}
  for name, default in names.items():
    taken[name] = fields.pop(name, default)
  return taken


def _rename(fields, renames, preset):
  """Move toolkit names to config names (`fft_size` -> `n_fft`), refusing both at once."""
  for theirs, ours in renames.items():
    if theirs in fields:
      if ours in fields:
        raise _error(f"{preset}: {theirs}={fields[theirs]!r} and {ours}={fields[ours]!r} name "
                     f"the same parameter; pass one of them.")
      fields[ours] = fields.pop(theirs)


def _normalised_db(*, gain, base, amin, ref_level_db, min_level_db, signal_norm, max_norm,
                   symmetric, clip, to_db, preset):
  """Config fields of `normalise(gain * log_base(max(M, amin)) - ref_level_db)`.

  The TTS toolkits' range normalisation: `(S - min_level_db) / -min_level_db`
  scaled to `[0, max_norm]` or, `symmetric`, `[-max_norm, max_norm]`, then
  clipped there (`clip`). Without `signal_norm` the dB values are stored as
  they are, without the reference subtracted (as Coqui TTS's `normalize`);
  without `to_db` the magnitudes are normalised instead of dB.

  Returns:
    A dict of `SpectrogramConfig` fields: scale, log_base, amin, ref,
    top_db, affine_scale, affine_offset, clip_range.
  """
  if not (gain > 0):
    raise _error(f"{preset}: spec_gain={gain!r} must be > 0.")
  fields = dict(top_db=None, amin=amin, affine_scale=1.0, affine_offset=0.0, clip_range=None)
  if signal_norm:
    if not (min_level_db < 0):
      raise _error(f"{preset}: min_level_db={min_level_db!r} must be negative (e.g. -100): the "
                   "normalisation divides by -min_level_db.")
    span = (2.0 if symmetric else 1.0) * max_norm
    slope = span / -min_level_db
    # ((x - ref) - min) / -min * span - (max_norm if symmetric) == x * slope + offset
    offset = max_norm - ref_level_db * slope
    if clip:
      fields["clip_range"] = (-max_norm if symmetric else 0.0, max_norm)
  else:
    slope, offset = 1.0, 0.0
  if not to_db:
    fields.update(scale="linear", affine_scale=slope, affine_offset=offset)
  elif gain == 20 and base == 10:
    # 20 log10(max(M, amin)) - 20 log10(ref): librosa amplitude_to_db without top_db.
    fields.update(scale="db", ref=10.0 ** (ref_level_db / 20.0) if signal_norm else 1.0,
                  affine_scale=slope, affine_offset=max_norm if signal_norm else 0.0)
    if fields["ref"] < amin:
      fields.update(scale="log", log_base=10.0, ref=1.0, affine_scale=gain * slope,
                    affine_offset=offset)
  else:
    fields.update(scale="log", log_base=float(base), affine_scale=gain * slope,
                  affine_offset=offset)
  return fields


# Coqui TTS `BaseAudioConfig` fields that do not change the stored features
# (waveform loading, trimming, the Griffin-Lim exponent and iterations, pitch):
# `from_coqui_audio` skips them.
COQUI_IGNORED = ("resample", "do_sound_norm", "do_trim_silence", "trim_db", "do_rms_norm",
                 "db_level", "power", "griffin_lim_iters", "pitch_fmax", "pitch_fmin",
                 "verbose")
_COQUI_RENAMES = {"fft_size": "n_fft", "num_mels": "n_mels", "mel_fmin": "fmin",
                  "mel_fmax": "fmax", "stft_pad_mode": "pad_mode"}
_COQUI_OWN = {"frame_shift_ms": None, "frame_length_ms": None, "ref_level_db": 20,
              "min_level_db": -100, "spec_gain": 20.0, "log_func": "np.log10",
              "signal_norm": True, "symmetric_norm": True, "max_norm": 4.0, "clip_norm": True,
              "do_amp_to_db_mel": True, "do_amp_to_db_linear": True, "stats_path": None}




def _coqui(fields, overrides):
  """Coqui's `audio` fields and config fields -> config fields (see `COQUI.doc`)."""
  defaults = fields
  fields = overrides
  _rename(fields, _COQUI_RENAMES, "coqui")
  own = _take(fields, _COQUI_OWN, "coqui")
  if fields.get("fmin") is None:
    fields["fmin"] = 0.0  # Coqui: `mel_fmin or 0`.
  if own["frame_shift_ms"] is not None and fields.get("hop_length") is None:
    # Coqui's `millisec_to_length` when hop_length is None.
    rate = fields.get("sample_rate", defaults["sample_rate"])
    factor = own["frame_length_ms"] / own["frame_shift_ms"]
    fields["win_length"] = int(own["frame_length_ms"] / 1000.0 * rate)
    fields["hop_length"] = int(fields["win_length"] / float(factor))
  for name in ("hop_length", "win_length"):
    if name in fields and fields[name] is None:
      del fields[name]
  bases = {"np.log10": 10.0, "np.log": math.e}
  if own["log_func"] not in bases:
    raise _error(f"coqui: log_func={own['log_func']!r} is not one of Coqui's: use 'np.log10' or "
                 "'np.log'.")
  representation = fields.get("representation", "mel")
  stats = fields.get("feature_mean") is not None or fields.get("feature_scale") is not None
  if own["stats_path"] and own["signal_norm"] and not stats:
    raise _error(
        f"coqui: stats_path={own['stats_path']!r}: the features were standardised with that "
        "file's mel_mean and mel_std; pass them as feature_mean= and feature_scale= "
        "(conventions.from_coqui_audio(audio, stats=...) takes the file's dictionary).")
  to_db = own["do_amp_to_db_mel" if representation != "stft" else "do_amp_to_db_linear"]
  defaults.update(_normalised_db(
      gain=float(own["spec_gain"]), base=bases[own["log_func"]], amin=1e-8,
      ref_level_db=float(own["ref_level_db"]), min_level_db=float(own["min_level_db"] or 0),
      signal_norm=bool(own["signal_norm"]) and not stats,
      max_norm=1.0 if own["max_norm"] is None else float(own["max_norm"]),
      symmetric=bool(own["symmetric_norm"]), clip=bool(own["clip_norm"]), to_db=bool(to_db),
      preset="coqui"))
  return {**defaults, **fields}


COQUI = _preset(
    "coqui", "coqui-ai/TTS: `TTS/utils/audio/processor.py` `AudioProcessor`, "
    "`TTS/config/shared_configs.py` `BaseAudioConfig`",
    """Coqui TTS: `TTS/utils/audio/processor.py` `AudioProcessor.melspectrogram`.

    `numpy_transforms.preemphasis` (if `preemphasis`), `librosa.stft` (centred,
    `stft_pad_mode` 'reflect', Hann), `|D|`, `librosa.filters.mel` (Slaney),
    `amp_to_db` = `spec_gain * log10(max(M, 1e-8))`, then `normalize`:
    minus `ref_level_db`, `(S - min_level_db) / -min_level_db` scaled to
    `[-max_norm, max_norm]` (`symmetric_norm`, else `[0, max_norm]`) and
    clipped (`clip_norm`). With stats (`feature_mean` / `feature_scale`, the
    `mel_mean` / `mel_std` of a `stats_path` file) the dB values are
    standardised instead, without the reference, range or clip (as Coqui).
    Defaults are `TTS/config/shared_configs.py` `BaseAudioConfig`'s: 22050 Hz,
    fft_size 1024, hop 256, win 1024, 80 mels, 0 Hz to sample_rate / 2,
    ref_level_db 20, min_level_db -100, spec_gain 20, log10, max_norm 4,
    symmetric, clipped: values in [-4, 4].

    Coqui TTS before 0.22 floored magnitudes at 1e-5 (`amin=1e-5`); it only
    matters without `signal_norm` (the range clip is above both floors).

    Args:
      **overrides: Coqui's own `audio` fields (`fft_size`, `win_length`,
        `hop_length`, `frame_shift_ms`, `frame_length_ms`, `stft_pad_mode`,
        `sample_rate`, `preemphasis`, `ref_level_db`, `min_level_db`,
        `spec_gain`, `log_func` ('np.log10' or 'np.log'), `signal_norm`,
        `symmetric_norm`, `max_norm`, `clip_norm`, `do_amp_to_db_mel`,
        `do_amp_to_db_linear`, `num_mels`, `mel_fmin`, `mel_fmax`,
        `stats_path`) or any `SpectrogramConfig` field (which wins over what
        the Coqui fields imply; `power` is the config's, 1 = magnitude, not
        Coqui's Griffin-Lim exponent: see `from_coqui_audio`).

    Returns:
      A `SpectrogramConfig` (mel, power 1, `[mels, frames]`).

    Raises:
      SpecInvError: a Coqui field with a value Coqui refuses too, or
        `stats_path` without `feature_mean` / `feature_scale`.

    Example:
      >>> make("coqui", mel_fmax=8000, preemphasis=0.97).clip_range
      (-4.0, 4.0)""",
    dict(sample_rate=22050, n_fft=1024, hop_length=256, win_length=1024, center=True,
         pad_mode="reflect", power=1.0, representation="mel", n_mels=80, fmin=0.0,
         mel_scale="slaney", mel_norm="slaney", preemphasis=0.0),
    own=_COQUI_OWN, translate=_coqui)


def from_coqui_audio(audio, stats=None, **overrides):
  """The config of a Coqui TTS model from the `audio` section of its `config.json`.

  Args:
    audio: Mapping of Coqui `BaseAudioConfig` fields (`json.load(f)["audio"]`).
      Fields that do not change the features (`COQUI_IGNORED`: trimming,
      loudness normalisation on loading, Griffin-Lim `power` and iterations,
      pitch) are skipped; others unknown to Coqui's `AudioProcessor` are
      skipped with a warning.
    stats: With a `stats_path` and `signal_norm`: the stats file's contents,
      a mapping with 'mel_mean' and 'mel_std' (`linear_mean` /
      `linear_std` for `representation='stft'`), or a `(mean, std)` pair.
    **overrides: Any `SpectrogramConfig` field (e.g. `amin=1e-5` for
      Coqui TTS before 0.22).

  Returns:
    A `SpectrogramConfig`, as `coqui(**fields)`.

  Raises:
    SpecInvError: invalid fields, or a `stats_path` without `stats`.

  Example:
    >>> audio = json.load(open("config.json"))["audio"]
    >>> config = from_coqui_audio(audio)
  """
  import warnings  # pylint: disable=import-outside-toplevel
  fields = {}
  known = set(_COQUI_RENAMES) | set(_COQUI_OWN) | {"sample_rate", "hop_length", "win_length",
                                                   "preemphasis"}
  unknown = []
  for name, value in dict(audio).items():
    if name in COQUI_IGNORED:
      continue
    if name in known:
      fields[name] = value
    else:
      unknown.append(name)
  if unknown:
    warnings.warn(f"from_coqui_audio: skipped fields unknown to Coqui's AudioProcessor: "
                  f"{', '.join(sorted(unknown))}.", UserWarning, stacklevel=2)
  if stats is not None:
    representation = overrides.get("representation", "mel")
    if hasattr(stats, "keys"):
      prefix = "linear" if representation == "stft" else "mel"
      missing = [k for k in (f"{prefix}_mean", f"{prefix}_std") if k not in stats]
      if missing:
        raise _error(f"from_coqui_audio: the stats lack {', '.join(missing)} (keys: "
                     f"{', '.join(map(str, stats.keys()))}).")
      mean, std = stats[f"{prefix}_mean"], stats[f"{prefix}_std"]
    else:
      mean, std = stats
    if fields.get("signal_norm", True):
      fields.update(feature_mean=mean, feature_scale=std)
  fields.update(overrides)
  return COQUI(**fields)


# keithito/tacotron `hparams.py` names and defaults.
_KEITHITO_OWN = {"num_freq": None, "frame_length_ms": 50.0, "frame_shift_ms": 12.5,
                 "min_level_db": -100, "ref_level_db": 20}


def _keithito(fields, overrides):
  """keithito's hparams and config fields -> config fields (see `KEITHITO.doc`)."""
  defaults = fields
  fields = overrides
  _rename(fields, {"num_mels": "n_mels"}, "keithito")
  own = _take(fields, _KEITHITO_OWN, "keithito")
  rate = fields.get("sample_rate", defaults["sample_rate"])
  if own["num_freq"] is not None and "n_fft" not in fields:
    fields["n_fft"] = (int(own["num_freq"]) - 1) * 2
  defaults.update(hop_length=int(own["frame_shift_ms"] / 1000 * rate),
                  win_length=int(own["frame_length_ms"] / 1000 * rate))
  defaults.update(_normalised_db(
      gain=20.0, base=10.0, amin=1e-5, ref_level_db=float(own["ref_level_db"]),
      min_level_db=float(own["min_level_db"]), signal_norm=True, max_norm=1.0, symmetric=False,
      clip=True, to_db=True, preset="keithito"))
  return {**defaults, **fields}


KEITHITO = _preset(
    "keithito", "keithito/tacotron: `util/audio.py` `melspectrogram`, `hparams.py`",
    """keithito/tacotron: `util/audio.py` `melspectrogram` with `hparams.py`'s defaults.

    `preemphasis` = `scipy.signal.lfilter([1, -0.97], [1], y)`, `librosa.stft`
    (librosa 0.5: centred, reflect padding, Hann) with n_fft
    `(num_freq - 1) * 2` = 2048, hop `frame_shift_ms` 12.5 ms = 250, window
    `frame_length_ms` 50 ms = 1000 at 20 kHz, `librosa.filters.mel(20000, 2048,
    n_mels=80)` (Slaney, 0 Hz to sample_rate / 2), `20 log10(max(1e-5, M)) -
    ref_level_db` (20), then `clip((S - min_level_db) / -min_level_db, 0, 1)`
    (min_level_db -100): values in [0, 1]. `representation='stft'` is its
    `spectrogram` (Tacotron's linear target, 1025 bins).

    Args:
      **overrides: keithito's hparams `num_freq`, `frame_length_ms`,
        `frame_shift_ms`, `min_level_db`, `ref_level_db`, `preemphasis`,
        `num_mels`, `sample_rate` (hop and window follow the frame
        durations at that rate), or any `SpectrogramConfig` field.

    Returns:
      A `SpectrogramConfig` (mel, power 1, dB normalised to [0, 1], clipped,
      pre-emphasis 0.97).""",
    dict(sample_rate=20000, n_fft=2048, center=True, pad_mode="reflect", power=1.0,
         representation="mel", n_mels=80, fmin=0.0, mel_scale="slaney", mel_norm="slaney",
         preemphasis=0.97),
    own=_KEITHITO_OWN, translate=_keithito)


# CorentinJ/Real-Time-Voice-Cloning `synthesizer/hparams.py` names and defaults.
_RTVC_RENAMES = {"num_mels": "n_mels", "hop_size": "hop_length", "win_size": "win_length"}
_RTVC_OWN = {"min_level_db": -100, "ref_level_db": 20, "max_abs_value": 4.0,
             "symmetric_mels": True, "allow_clipping_in_normalization": True,
             "signal_normalization": True, "preemphasize": True}


def _rtvc(fields, overrides):
  """RTVC's hparams and config fields -> config fields (see `RTVC.doc`)."""
  defaults = fields
  fields = overrides
  _rename(fields, _RTVC_RENAMES, "rtvc")
  own = _take(fields, _RTVC_OWN, "rtvc")
  if not own["preemphasize"]:
    defaults["preemphasis"] = 0.0
  min_level_db = float(own["min_level_db"])
  defaults.update(_normalised_db(
      gain=20.0, base=10.0, amin=10.0 ** (min_level_db / 20.0),
      ref_level_db=float(own["ref_level_db"]), min_level_db=min_level_db,
      signal_norm=bool(own["signal_normalization"]), max_norm=float(own["max_abs_value"]),
      symmetric=bool(own["symmetric_mels"]), clip=bool(own["allow_clipping_in_normalization"]),
      to_db=True, preset="rtvc"))
  if not own["signal_normalization"]:
    # RTVC subtracts ref_level_db even without normalisation.
    defaults["ref"] = 10.0 ** (float(own["ref_level_db"]) / 20.0)
  return {**defaults, **fields}


RTVC = _preset(
    "rtvc", "CorentinJ/Real-Time-Voice-Cloning: `synthesizer/audio.py` `melspectrogram`, "
    "`synthesizer/hparams.py`",
    """Real-Time-Voice-Cloning: `synthesizer/audio.py` `melspectrogram`, `synthesizer/hparams.py`.

    `preemphasis(wav, 0.97)` (`lfilter([1, -k], [1], wav)`), `librosa.stft(y,
    n_fft=800, hop_length=200, win_length=800)` (centred, Hann; zero padding
    under the pinned librosa 0.9.2, reflect under the librosa 0.8 the first
    models were trained with: pass `pad_mode='reflect'`), 16 kHz,
    `librosa.filters.mel(16000, 800, n_mels=80, fmin=55, fmax=7600)`,
    `20 log10(max(10^(min_level_db / 20), M)) - ref_level_db` (20), then
    `clip(2 * 4 * (S + 100) / 100 - 4, -4, 4)`: values in [-4, 4].

    Args:
      **overrides: RTVC's hparams `min_level_db`, `ref_level_db`,
        `max_abs_value`, `symmetric_mels`, `allow_clipping_in_normalization`,
        `signal_normalization`, `preemphasize`, `preemphasis`, `num_mels`,
        `hop_size`, `win_size`, `n_fft`, `fmin`, `fmax`, `sample_rate`, or
        any `SpectrogramConfig` field.

    Returns:
      A `SpectrogramConfig` (mel, power 1, dB normalised to [-4, 4], clipped,
      pre-emphasis 0.97).""",
    dict(sample_rate=16000, n_fft=800, hop_length=200, win_length=800, center=True,
         pad_mode="constant", power=1.0, representation="mel", n_mels=80, fmin=55.0,
         fmax=7600.0, mel_scale="slaney", mel_norm="slaney", preemphasis=0.97),
    own=_RTVC_OWN, translate=_rtvc)


# ---------------------------------------------------------------- registry
PRESETS = types.MappingProxyType({preset.name: preset for preset in (
    LIBROSA, TORCHAUDIO, TF_SIGNAL, HIFIGAN, TACOTRON2, WHISPER, VOCOS, ESPNET, COQUI, KEITHITO,
    RTVC, TENSORFLOWTTS, RIFFUSION, AUDIO_DIFFUSION)})
NAMES = tuple(PRESETS)


def get(name) -> Preset:
  """The preset called `name` (callable: `get(name)(**overrides)` is `make(name, ...)`).

  Args:
    name: One of `NAMES`.

  Returns:
    A `Preset`.

  Raises:
    SpecInvError: for an unknown name.
  """
  if name not in PRESETS:
    raise SpecInvError(f"convention={name!r} is not known; use one of "
                       f"{', '.join(map(repr, NAMES))}.")
  return PRESETS[name]


def make(name, **overrides) -> SpectrogramConfig:
  """The config of preset `name` with some fields changed.

  Args:
    name: One of `NAMES`.
    **overrides: Any `SpectrogramConfig` field, or the toolkit's own
      parameter names (`get(name).own`).

  Returns:
    A `SpectrogramConfig`.

  Raises:
    SpecInvError: an unknown name, or an invalid field.
  """
  return get(name)(**overrides)

"""Presets: the spectrogram conventions of libraries and of the models people run.

Each preset is a function `**overrides -> SpectrogramConfig` that reproduces
the forward transform (waveform -> features) of one project's published
code; any field may be overridden by keyword. `get(name)` returns the
function, `make(name, **overrides)` the config, `NAMES` lists them.

>>> cfg = make("hifigan")
>>> cfg.sample_rate, cfg.n_mels, cfg.pad, cfg.center
(22050, 80, 384, False)

This module imports neither NumPy nor TensorFlow at import time, so the
command line can list the presets cheaply.
"""

__all__ = ["NAMES", "get", "make", "hifigan", "tacotron2", "whisper", "vocos", "espnet",
           "riffusion", "audio_diffusion"]


def _config_class():
  from tfspecinv.config import SpectrogramConfig  # pylint: disable=import-outside-toplevel
  return SpectrogramConfig


def _build(defaults, overrides):
  fields = dict(defaults)
  fields.update(overrides)
  return _config_class()(**fields)


def librosa(**overrides):
  """librosa >= 0.9 defaults (see `SpectrogramConfig.librosa`)."""
  return _config_class().librosa(**overrides)


def torchaudio(**overrides):
  """torchaudio.transforms defaults (see `SpectrogramConfig.torchaudio`)."""
  return _config_class().torchaudio(**overrides)


def tf_signal(**overrides):
  """tf.signal as in its MFCC guide (see `SpectrogramConfig.tf_signal`)."""
  return _config_class().tf_signal(**overrides)


def hifigan(**overrides):
  """HiFi-GAN / BigVGAN: `meldataset.py` `mel_spectrogram` (jik876/hifi-gan, NVIDIA/BigVGAN).

  Reflect padding of `(n_fft - hop) // 2` on each side, `torch.stft(center=False)`
  with a periodic Hann window, magnitude `sqrt(re^2 + im^2 + 1e-9)`, librosa's
  Slaney mel basis, `log(clamp(mel, min=1e-5))`. Defaults are HiFi-GAN v1
  (`config_v1.json`): 22050 Hz, n_fft 1024, hop 256, 80 mels, 0-8000 Hz.

  With `sample_rate=24000` or `n_mels=100` the defaults are BigVGAN-v2's
  `bigvgan_v2_24khz_100band_256x.json` instead: 24000 Hz, 100 mels, fmin 0,
  fmax None (librosa: sample_rate / 2 = 12000 Hz).

  The padding is computed here from `n_fft` and `hop_length` (pass them, or
  `padding`, as overrides); `config.replace(n_fft=...)` keeps the old padding.

  Args:
    **overrides: Any `SpectrogramConfig` field.

  Returns:
    A `SpectrogramConfig` (mel, power 1, 'log' scale, `[mels, frames]`).
  """
  bigvgan = overrides.get("sample_rate") == 24000 or overrides.get("n_mels") == 100
  defaults = dict(sample_rate=22050, n_fft=1024, hop_length=256, win_length=1024,
                  center=False, pad_mode="reflect", power=1.0, magnitude_eps=1e-9,
                  magnitude_eps_mode="add", representation="mel", n_mels=80, fmin=0.0,
                  fmax=8000.0, mel_scale="slaney", mel_norm="slaney", scale="log", amin=1e-5)
  if bigvgan:
    defaults.update(sample_rate=24000, n_mels=100, fmax=None)
  defaults.update(overrides)
  if "padding" not in overrides:
    hop = defaults["hop_length"] or (defaults["win_length"] or defaults["n_fft"]) // 4
    defaults["padding"] = (defaults["n_fft"] - hop) // 2
  return _build(defaults, {})


def tacotron2(**overrides):
  """NVIDIA tacotron2: `layers.py` `TacotronSTFT.mel_spectrogram` with `stft.py` `STFT`.

  Centred reflect padding of `n_fft // 2`, periodic Hann window (scipy
  `get_window(fftbins=True)`, centred in the frame), magnitude, librosa's
  Slaney mel basis, `dynamic_range_compression` = `log(clamp(mel, 1e-5))`.
  Defaults (`hparams.py`): 22050 Hz, n_fft 1024, hop 256, 80 mels, 0-8000 Hz.

  Args:
    **overrides: Any `SpectrogramConfig` field.

  Returns:
    A `SpectrogramConfig` (mel, power 1, 'log' scale, `[mels, frames]`).
  """
  defaults = dict(sample_rate=22050, n_fft=1024, hop_length=256, win_length=1024,
                  center=True, pad_mode="reflect", power=1.0, representation="mel", n_mels=80,
                  fmin=0.0, fmax=8000.0, mel_scale="slaney", mel_norm="slaney", scale="log",
                  amin=1e-5)
  return _build(defaults, overrides)


def whisper(**overrides):
  """openai/whisper: `whisper/audio.py` `log_mel_spectrogram`.

  16 kHz, n_fft 400, hop 160, periodic Hann, `torch.stft` centred with
  reflect padding, power `|X|^2` with the last frame dropped
  (`stft[..., :-1]`), librosa's Slaney mel filters (80 mels, or 128 for
  large-v3: pass `n_mels=128`), `log10(clamp(mel, 1e-10))`, floored at the
  maximum minus 8 (per example here; Whisper takes the maximum of its whole
  input, the same for one clip), then `(x + 4) / 4`.

  Args:
    **overrides: Any `SpectrogramConfig` field.

  Returns:
    A `SpectrogramConfig` (mel, power 2, `drop_last_frame`, `[mels, frames]`).
  """
  defaults = dict(sample_rate=16000, n_fft=400, hop_length=160, win_length=400, center=True,
                  pad_mode="reflect", power=2.0, drop_last_frame=True, representation="mel",
                  n_mels=80, fmin=0.0, mel_scale="slaney", mel_norm="slaney", scale="log",
                  log_base=10.0, amin=1e-10, log_range=8.0, affine_scale=0.25,
                  affine_offset=1.0)
  return _build(defaults, overrides)


def vocos(**overrides):
  """Vocos: `vocos/feature_extractors.py` `MelSpectrogramFeatures` (charactr/vocos-mel-24khz).

  torchaudio `MelSpectrogram(sample_rate=24000, n_fft=1024, hop_length=256,
  n_mels=100, center=True, power=1)` with torchaudio's defaults (reflect
  padding, HTK mel without norm, f_max = sample_rate // 2), then `safe_log`
  = `log(clip(mel, min=1e-7))`.

  Args:
    **overrides: Any `SpectrogramConfig` field.

  Returns:
    A `SpectrogramConfig` (mel, power 1, 'log' scale, `[mels, frames]`).
  """
  defaults = dict(sample_rate=24000, n_fft=1024, hop_length=256, win_length=1024,
                  center=True, pad_mode="reflect", power=1.0, representation="mel", n_mels=100,
                  fmin=0.0, mel_scale="htk", mel_norm="none", mel_variant="torchaudio",
                  scale="log", amin=1e-7)
  defaults.update(overrides)
  if defaults.get("fmax") is None:
    defaults["fmax"] = float(defaults["sample_rate"] // 2)
  return _build(defaults, {})


def espnet(**overrides):
  """ESPnet2 TTS: `espnet2/tts/feats_extract/log_mel_fbank.py` `LogMelFbank` defaults.

  `espnet2/layers/stft.py` `Stft` (`torch.stft`, centred, reflect padding,
  periodic Hann), amplitude `sqrt(clamp(re^2 + im^2, min=1e-10))`, then
  `espnet2/layers/log_mel.py` `LogMel` with librosa's Slaney mel basis,
  `log10(clamp(mel, min=1e-10))`. n_fft 1024, hop 256, 80 mels, 80-7600 Hz;
  sample rate 22050 (the usual TTS recipe value; `LogMelFbank` itself
  defaults to 16000: override `sample_rate`). Features are `[frames, mels]`.

  Args:
    **overrides: Any `SpectrogramConfig` field.

  Returns:
    A `SpectrogramConfig` (mel, power 1, 'log' base 10, `frames_bins` layout).
  """
  defaults = dict(sample_rate=22050, n_fft=1024, hop_length=256, center=True,
                  pad_mode="reflect", power=1.0, magnitude_eps=1e-10, magnitude_eps_mode="clamp",
                  representation="mel", n_mels=80, fmin=80.0, fmax=7600.0, mel_scale="slaney",
                  mel_norm="slaney", scale="log", log_base=10.0, amin=1e-10,
                  layout="frames_bins")
  return _build(defaults, overrides)


def riffusion(**overrides):
  """Riffusion: `riffusion/spectrogram_converter.py` with `spectrogram_params.py` defaults.

  torchaudio `Spectrogram(n_fft, hop_length, win_length, power=None,
  center=True, pad_mode='reflect')` (periodic Hann of `win_length` centred
  in the `n_fft` frame), `abs`, then `MelScale(n_mels=512, f_min=0,
  f_max=10000, norm=None, mel_scale='htk')` (torchaudio's layout). From
  `SpectrogramParams`: 44100 Hz, step 10 ms (hop 441), window 100 ms (4410),
  padded 400 ms (n_fft 17640). Its pictures (512x512, one column a frame)
  hold `(mel / max) ** 0.25`, loud dark: `tfspecinv.image.PICTURE_MAPS
  ['riffusion']`, which the command line applies to a picture by itself.

  Args:
    **overrides: Any `SpectrogramConfig` field.

  Returns:
    A `SpectrogramConfig` (mel magnitudes, power 1, 'linear' scale,
    `[mels, frames]`).
  """
  defaults = dict(sample_rate=44100, n_fft=17640, hop_length=441, win_length=4410,
                  center=True, pad_mode="reflect", power=1.0, representation="mel",
                  n_mels=512, fmin=0.0, fmax=10000.0, mel_scale="htk", mel_norm="none",
                  mel_variant="torchaudio", scale="linear")
  return _build(defaults, overrides)


def audio_diffusion(**overrides):
  """teticio/audio-diffusion: `audiodiffusion/mel.py` `Mel.audio_slice_to_image` defaults.

  `librosa.feature.melspectrogram(y, sr=22050, n_fft=2048, hop_length=512,
  n_mels=y_res=256)` (librosa's defaults otherwise: centred, zero padding,
  Slaney mel, power 2), `power_to_db(S, ref=np.max, top_db=80)`. Its
  pictures (256x256, a slice of `x_res * hop_length - 1` samples) hold
  `(dB + 80) * 255 / 80` rounded, row 0 the first mel band:
  `tfspecinv.image.PICTURE_MAPS['audio_diffusion']`, which the command
  line applies to a picture by itself.

  Args:
    **overrides: Any `SpectrogramConfig` field.

  Returns:
    A `SpectrogramConfig` (mel power, 'db' scale relative to the maximum,
    top_db 80, `[mels, frames]`).
  """
  defaults = dict(sample_rate=22050, n_fft=2048, hop_length=512, representation="mel",
                  n_mels=256, scale="db", ref="max", top_db=80.0)
  return _build(defaults, overrides)


_REGISTRY = {
    "librosa": librosa, "torchaudio": torchaudio, "tf_signal": tf_signal, "hifigan": hifigan,
    "tacotron2": tacotron2, "whisper": whisper, "vocos": vocos, "espnet": espnet,
}
_REGISTRY.update(riffusion=riffusion, audio_diffusion=audio_diffusion)
NAMES = tuple(_REGISTRY)


def get(name):
  """The preset function called `name`.

  Args:
    name: One of `NAMES`.

  Returns:
    A function `**overrides -> SpectrogramConfig`.

  Raises:
    SpecInvError: for an unknown name.
  """
  if name not in _REGISTRY:
    from tfspecinv.errors import SpecInvError  # pylint: disable=import-outside-toplevel
    raise SpecInvError(f"convention={name!r} is not known; use one of "
                       f"{', '.join(map(repr, NAMES))}.")
  return _REGISTRY[name]


def make(name, **overrides):
  """`get(name)(**overrides)`: the config of preset `name` with some fields changed."""
  return get(name)(**overrides)

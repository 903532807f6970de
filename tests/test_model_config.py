"""tfspecinv.model_config: the audio settings of a model's own config file.

The files below are written as the projects publish them (abridged to the
audio keys plus a few others): jik876/hifi-gan `config_v1.json`, NVIDIA/BigVGAN
`configs/bigvgan_v2_24khz_100band_256x.json`, TensorFlowTTS
`preprocess/ljspeech_preprocess.yaml` and `examples/fastspeech2/conf/fastspeech2.v1.yaml`,
an ESPnet2 LJSpeech TTS `exp/tts_train_*/config.yaml` with its
`exp/tts_stats_*/train/feats_stats.npz`, and Vocos' `config.yaml`
(charactr/vocos-mel-24khz) and `configs/vocos.yaml`. The configs they give
must equal the presets for those models' published settings.
"""

import json
import math
import sys

import numpy as np
import pytest

from tfspecinv import SpecInvError, conventions
from tfspecinv import model_config

HIFIGAN_V1 = {
    "resblock": "1", "num_gpus": 0, "batch_size": 16, "learning_rate": 0.0002,
    "upsample_rates": [8, 8, 2, 2], "upsample_kernel_sizes": [16, 16, 4, 4],
    "upsample_initial_channel": 512, "segment_size": 8192, "num_mels": 80, "num_freq": 1025,
    "n_fft": 1024, "hop_size": 256, "win_size": 1024, "sampling_rate": 22050, "fmin": 0,
    "fmax": 8000, "fmax_for_loss": None, "num_workers": 4,
}
BIGVGAN_V2_24K = dict(HIFIGAN_V1, num_mels=100, sampling_rate=24000, fmax=None,
                      upsample_rates=[4, 4, 2, 2, 2, 2], use_bias_at_final=False)

TFTTS_LJSPEECH = """\
###########################################################
#                FEATURE EXTRACTION SETTING               #
###########################################################
sampling_rate: 22050     # Sampling rate.
fft_size: 1024           # FFT size.
hop_size: 256            # Hop size. (fixed value, don't change)
win_length: null         # Window length.
window: "hann"           # Window function.
num_mels: 80             # Number of mel basis.
fmin: 80                 # Minimum freq in mel basis calculation.
fmax: 7600               # Maximum frequency in mel basis calculation.
global_gain_scale: 1.0   # Will be multiplied to all of waveform.
trim_silence: true       # Whether to trim the start and end of silence.
trim_threshold_in_db: 60 # Need to tune carefully if the recording is not good.
trim_frame_size: 2048    # Frame size in trimming.
trim_hop_size: 512       # Hop size in trimming.
format: "npy"            # Feature file format. Only "npy" is supported.
"""

TFTTS_FASTSPEECH2 = """\
hop_size: 256            # Hop size.
format: "npy"
model_type: "fastspeech2"
fastspeech2_params:
    n_speakers: 1
    num_mels: 80
batch_size: 16
"""

ESPNET_TTS = """\
odim: null
model_conf: {}
use_preprocessor: true
token_type: phn
cleaner: tacotron
g2p: g2p_en_no_space
feats_extract: fbank
feats_extract_conf:
    n_fft: 1024
    hop_length: 256
    win_length: null
    fs: 22050
    fmin: 80
    fmax: 7600
    n_mels: 80
normalize: global_mvn
normalize_conf:
    stats_file: exp/tts_stats_raw_phn_tacotron_g2p_en_no_space/train/feats_stats.npz
tts: fastspeech2
"""

VOCOS_MODEL = """\
feature_extractor:
  class_path: vocos.feature_extractors.MelSpectrogramFeatures
  init_args:
    sample_rate: 24000
    n_fft: 1024
    hop_length: 256
    n_mels: 100
    padding: center
backbone:
  class_path: vocos.models.VocosBackbone
  init_args:
    input_channels: 100
    dim: 512
"""

VOCOS_TRAINING = """\
seed_everything: 4444
model:
  class_path: vocos.experiment.VocosExp
  init_args:
    sample_rate: 24000
    feature_extractor:
      class_path: vocos.feature_extractors.MelSpectrogramFeatures
      init_args:
        sample_rate: 24000
        n_fft: 1024
        hop_length: 256
        n_mels: 100
        padding: same
"""


def _write(tmp_path, name, content):
  path = tmp_path / name
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
  return str(path)


def _config(found):
  return conventions.make(found.convention, **dict(found.fields))


def test_hifigan_v1_json_is_the_hifigan_preset(tmp_path):
  found = model_config.read_model_config(_write(tmp_path, "config_v1.json", HIFIGAN_V1))
  assert (found.kind, found.convention, found.stats_file) == ("hifigan", "hifigan", None)
  assert dict(found.fields) == dict(sample_rate=22050, n_fft=1024, hop_length=256,
                                    win_length=1024, n_mels=80, fmin=0.0, fmax=8000.0)
  assert _config(found) == conventions.make("hifigan")


def test_bigvgan_v2_json_is_the_24k_preset(tmp_path):
  found = model_config.read_model_config(_write(tmp_path, "config.json", BIGVGAN_V2_24K))
  cfg = _config(found)
  assert cfg == conventions.make("hifigan", sample_rate=24000)
  assert (cfg.n_mels, cfg.fmax, cfg.padding) == (100, 12000.0, 384)


def test_hifigan_other_hop_recomputes_the_padding(tmp_path):
  found = model_config.read_model_config(
      _write(tmp_path, "c.json", dict(HIFIGAN_V1, hop_size=160, sampling_rate=16000)))
  assert _config(found).padding == (1024 - 160) // 2


def test_tensorflowtts_preprocess_yaml_is_the_preset(tmp_path):
  found = model_config.read_model_config(
      _write(tmp_path, "ljspeech_preprocess.yaml", TFTTS_LJSPEECH))
  assert (found.kind, found.convention) == ("tensorflowtts", "tensorflowtts")
  assert [name for name, _ in found.fields] == ["sample_rate", "hop_length", "n_fft",
                                                "win_length", "window", "n_mels", "fmin",
                                                "fmax"]
  assert _config(found) == conventions.make("tensorflowtts")


def test_tensorflowtts_model_yaml_takes_rate_and_hop(tmp_path):
  yaml_text = "sampling_rate: 24000\n" + TFTTS_FASTSPEECH2.replace("256", "300")
  found = model_config.read_model_config(_write(tmp_path, "fastspeech2.v1.yaml", yaml_text))
  assert found.kind == "tensorflowtts"
  assert dict(found.fields) == dict(sample_rate=24000, hop_length=300)


def test_tensorflowtts_fmax_null_is_half_the_rate_and_feats_rate(tmp_path):
  text = TFTTS_LJSPEECH.replace("fmax: 7600", "fmax: null").replace(
      "format:", "sampling_rate_for_feats: 11025\nformat:")
  found = model_config.read_model_config(_write(tmp_path, "p.yaml", text))
  fields = dict(found.fields)
  assert (fields["sample_rate"], fields["hop_length"], fields["fmax"]) == (11025, 128, 5512.0)


def test_espnet_yaml_finds_its_stats_beside_the_model(tmp_path):
  config = _write(tmp_path, "exp/tts_train_raw_phn/config.yaml", ESPNET_TTS)
  stats = tmp_path / "exp/tts_stats_raw_phn_tacotron_g2p_en_no_space/train/feats_stats.npz"
  stats.parent.mkdir(parents=True)
  np.savez(stats, count=np.asarray(10), sum=np.zeros(80), sum_square=np.full(80, 10.0))
  found = model_config.read_model_config(config)
  assert (found.kind, found.convention) == ("espnet", "espnet")
  assert found.stats_file == str(stats) and found.missing_stats_file is None
  assert _config(found) == conventions.make("espnet")


def test_espnet_stats_not_found_and_logmelfbank_defaults(tmp_path):
  text = ESPNET_TTS.replace("    fmin: 80\n    fmax: 7600\n", "").replace(
      "win_length: null", "win_length: 800")
  found = model_config.read_model_config(_write(tmp_path, "config.yaml", text))
  assert found.stats_file is None
  assert found.missing_stats_file.endswith("train/feats_stats.npz")
  cfg = _config(found)
  # LogMelFbank: fmin None -> 0, fmax None -> fs / 2.
  assert (cfg.fmin, cfg.fmax, cfg.win_length) == (0.0, 11025.0, 800)


@pytest.mark.parametrize("text, expected", [
    (VOCOS_MODEL, dict()),
    (VOCOS_TRAINING, dict(center=False, padding=(1024 - 256) // 2)),
])
def test_vocos_yaml(tmp_path, text, expected):
  found = model_config.read_model_config(_write(tmp_path, "config.yaml", text))
  assert (found.kind, found.convention) == ("vocos", "vocos")
  assert _config(found) == conventions.make("vocos", **expected)


def test_describe_names_fields_and_overrides(tmp_path):
  path = _write(tmp_path, "config_v1.json", HIFIGAN_V1)
  found = model_config.read_model_config(path)
  line = model_config.describe(found, overridden=("n_mels",))
  assert line == (f"model_config: took convention=hifigan, sample_rate=22050, n_fft=1024, "
                  f"hop_length=256, win_length=1024, fmin=0, fmax=8000 from {path} "
                  "(flags override n_mels)")


def test_yaml_kind_comes_from_content_not_the_name(tmp_path):
  found = model_config.read_model_config(
      _write(tmp_path, "hifigan.yaml", json.dumps(HIFIGAN_V1)))
  assert found.kind == "hifigan"


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("name, content, pattern", [
    ("c.json", {"model": "tacotron", "epochs": 10},
     r"not a model config this reads \(top-level keys: epochs, model\).*Coqui.*--sample_rate"),
    ("c.json", [1, 2], r"holds a list, not a mapping"),
    ("c.json", "{not json", r"not valid JSON"),
    ("c.yaml", "a: [1, 2\n", r"not valid YAML"),
    ("c.json", {k: v for k, v in HIFIGAN_V1.items() if k not in ("hop_size", "fmax")},
     r"HiFi-GAN / BigVGAN config.json lacks the audio field\(s\) hop_size, fmax"),
    ("c.json", dict(HIFIGAN_V1, hop_size="256"), r"hop_size='256' must be an integer"),
    ("c.yaml", ESPNET_TTS.replace("    n_mels: 80\n", ""),
     r"ESPnet config \(feats_extract_conf\) lacks the audio field\(s\) n_mels"),
    ("c.yaml", ESPNET_TTS.replace("feats_extract: fbank", "feats_extract: linear_spectrogram"),
     r"feats_extract='linear_spectrogram'; only ESPnet's log-mel 'fbank'"),
    ("c.yaml", TFTTS_FASTSPEECH2.replace("hop_size: 256", "fft_size: 1024"),
     r"TensorFlowTTS config lacks the audio field\(s\) sampling_rate, hop_size"),
    ("c.yaml", VOCOS_MODEL.replace("MelSpectrogramFeatures", "EncodecFeatures"),
     r"feature extractor is 'vocos.feature_extractors.EncodecFeatures'"),
    ("c.yaml", VOCOS_MODEL.replace("    n_fft: 1024\n", ""),
     r"Vocos config \(feature_extractor.init_args\) lacks the audio field\(s\) n_fft"),
    ("c.yaml", VOCOS_MODEL.replace("padding: center", "padding: valid"),
     r"padding='valid'; Vocos takes 'center' or 'same'"),
])
def test_bad_config_files(tmp_path, name, content, pattern):
  path = _write(tmp_path, name, content)
  with pytest.raises(SpecInvError, match=pattern) as error:
    model_config.read_model_config(path)
  assert str(error.value).startswith(path) and "\n" not in str(error.value)


def test_missing_file_and_missing_pyyaml(tmp_path, monkeypatch):
  with pytest.raises(SpecInvError, match=r"no such model config file.*--model_config"):
    model_config.read_model_config(str(tmp_path / "none.json"))
  path = _write(tmp_path, "c.yaml", VOCOS_MODEL)
  monkeypatch.setitem(sys.modules, "yaml", None)  # import yaml -> ImportError
  with pytest.raises(model_config.MissingDependencyError, match=r"needs PyYAML: pip install"):
    model_config.read_model_config(path)
  # A .yaml holding JSON still reads without PyYAML.
  found = model_config.read_model_config(_write(tmp_path, "h.yaml", json.dumps(HIFIGAN_V1)))
  assert found.kind == "hifigan" and not math.isnan(dict(found.fields)["fmin"])


# Coqui TTS: the `audio` section of a released model's config.json
# (tts_models/en/ljspeech/tacotron2-DDC), as `BaseAudioConfig` writes it.
COQUI_AUDIO = {
    "fft_size": 1024, "win_length": 1024, "hop_length": 256, "frame_shift_ms": None,
    "frame_length_ms": None, "stft_pad_mode": "reflect", "sample_rate": 22050,
    "resample": False, "preemphasis": 0.0, "ref_level_db": 20, "do_sound_norm": False,
    "log_func": "np.log10", "do_trim_silence": True, "trim_db": 60, "do_rms_norm": False,
    "db_level": None, "power": 1.5, "griffin_lim_iters": 60, "num_mels": 80, "mel_fmin": 0.0,
    "mel_fmax": 8000.0, "spec_gain": 1.0, "do_amp_to_db_linear": True, "do_amp_to_db_mel": True,
    "pitch_fmax": 640.0, "pitch_fmin": 1.0, "signal_norm": False, "min_level_db": -100,
    "symmetric_norm": True, "max_norm": 4.0, "clip_norm": True, "stats_path": None,
}


@pytest.mark.parametrize("changes", [dict(), dict(signal_norm=True, spec_gain=20.0,
                                                  preemphasis=0.97, sample_rate=16000,
                                                  mel_fmax=7600.0)],
                         ids=["tacotron2-DDC", "normalised_preemphasis_16k"])
def test_coqui_config_json_is_from_coqui_audio(tmp_path, changes):
  audio = dict(COQUI_AUDIO, **changes)
  path = _write(tmp_path, "config.json", {"model": "tacotron2", "run_name": "ljspeech-ddc",
                                          "audio": audio})
  found = model_config.read_model_config(path)
  assert (found.kind, found.convention, found.missing_stats_file) == ("coqui", "coqui", None)
  assert _config(found) == conventions.from_coqui_audio(audio)
  assert "n_fft" not in dict(found.fields)  # The preset's default: not listed.


def test_coqui_stats_path_needs_stats(tmp_path):
  audio = dict(COQUI_AUDIO, signal_norm=True, stats_path="/data/scale_stats.npy")
  found = model_config.read_model_config(_write(tmp_path, "config.json", {"audio": audio}))
  assert found.missing_stats_file == "/data/scale_stats.npy"
  rng = np.random.default_rng(1)
  mean, std = rng.normal(-30, 5, 80), rng.uniform(5, 15, 80)
  expected = conventions.from_coqui_audio(audio, stats=(mean, std))
  got = conventions.make(found.convention, **dict(found.fields), feature_mean=tuple(mean),
                         feature_scale=tuple(std))
  assert got == expected


def test_coqui_missing_audio_fields(tmp_path):
  audio = {k: v for k, v in COQUI_AUDIO.items() if k != "fft_size"}
  path = _write(tmp_path, "config.json", {"audio": audio})
  with pytest.raises(SpecInvError, match=r"Coqui config.json \(audio\) lacks the audio "
                                         r"field\(s\) fft_size"):
    model_config.read_model_config(path)

"""A TTS model's own config file -> the preset and the fields it sets.

A TTS user knows their spectrogram settings from the model's config file.
`read_model_config(path)` recognises the file by its content (not its name)
and returns the preset to start from and the `SpectrogramConfig` fields the
file sets:

* Coqui TTS `config.json`: its `audio` section
  (`tfspecinv.conventions.from_coqui_audio`).
* HiFi-GAN / BigVGAN `config.json`: `sampling_rate`, `n_fft`, `hop_size`,
  `win_size`, `num_mels`, `fmin`, `fmax` (preset `hifigan`).
* ESPnet2 TTS `config.yaml`: `feats_extract: fbank` with
  `feats_extract_conf` (`fs`, `n_fft`, `hop_length`, `win_length`, `n_mels`,
  `fmin`, `fmax`, missing ones at `LogMelFbank`'s defaults) and
  `normalize: global_mvn` with `normalize_conf.stats_file` (preset `espnet`).
* TensorFlowTTS YAML: a preprocessing config (`sampling_rate`, `fft_size`,
  `hop_size`, `win_length`, `window`, `num_mels`, `fmin`, `fmax`) or a
  model config (`sampling_rate`, `hop_size`, `format`) (preset
  `tensorflowtts`).
* Vocos YAML: `feature_extractor` (top level, or under `model.init_args`)
  of class `MelSpectrogramFeatures` with `sample_rate`, `n_fft`,
  `hop_length`, `n_mels`, `padding` (preset `vocos`).

>>> found = read_model_config("config_v1.json")          # doctest: +SKIP
>>> found.convention, dict(found.fields)["hop_length"]    # doctest: +SKIP
('hifigan', 256)
>>> config = conventions.make(found.convention, **dict(found.fields))  # doctest: +SKIP

YAML needs PyYAML (`pip install -e ".[yaml]"`), imported only for YAML
files; JSON files need nothing. No TensorFlow.
"""

import collections
import json
import math
import os

from tfspecinv.errors import SpecInvError

__all__ = ["ModelConfig", "KINDS", "read_model_config", "parse_model_config", "describe",
           "MissingDependencyError"]

KINDS = ("coqui", "hifigan", "espnet", "tensorflowtts", "vocos")

ModelConfig = collections.namedtuple(
    "ModelConfig", ["path", "kind", "convention", "fields", "stats_file", "missing_stats_file"])
ModelConfig.__doc__ = """What a model's config file says about its spectrograms.

Fields:
  path: The file read.
  kind: One of `KINDS`.
  convention: The preset to start from (`tfspecinv.conventions.NAMES`).
  fields: `SpectrogramConfig` fields the file sets, as `(name, value)` pairs
    in the file's order (apply them over the preset; flags go over them).
  stats_file: A statistics file the config normalises with (ESPnet
    `global_mvn`), found on disk; None otherwise.
  missing_stats_file: The statistics file the config names but that was not
    found beside it (then `stats_file` is None), or None.
"""


class MissingDependencyError(SpecInvError):
  """PyYAML is needed to read a YAML config and is not installed."""


_KNOWN = ("a Coqui TTS config.json (with an 'audio' section), a HiFi-GAN / BigVGAN "
          "config.json, or an ESPnet, TensorFlowTTS or Vocos YAML config")


# ------------------------------------------------------------------ reading
def read_model_config(path):
  """The preset and fields of a model's config file (kind found from the content).

  Args:
    path: A `.json` or `.yaml` / `.yml` file.

  Returns:
    A `ModelConfig`.

  Raises:
    MissingDependencyError: a YAML file without PyYAML installed.
    SpecInvError: a missing or unparsable file, a file of no known kind, or
      one that lacks audio fields; the message names the file and the fix.
  """
  if not os.path.isfile(path):
    raise SpecInvError(f"{path}: no such model config file; check the --model_config path.")
  with open(path, "rb") as handle:
    text = handle.read().decode("utf-8", errors="replace")
  ext = os.path.splitext(path)[1].lower()
  data = _parse_json(path, text) if ext == ".json" else _parse_yaml(path, text)
  return parse_model_config(data, path)


def _parse_json(path, text):
  try:
    return json.loads(text)
  except json.JSONDecodeError as error:
    raise SpecInvError(f"{path}: not valid JSON ({error}); is it the model's config.json?") \
        from None


def _parse_yaml(path, text):
  try:
    import yaml  # pylint: disable=import-outside-toplevel
  except ImportError:
    try:  # A .yaml that is plain JSON still reads.
      return json.loads(text)
    except json.JSONDecodeError:
      raise MissingDependencyError(
          f"{path}: reading a YAML config needs PyYAML: pip install pyyaml (or "
          "pip install -e '.[yaml]').") from None
  try:
    return yaml.safe_load(text)
  except yaml.YAMLError as error:
    first = " ".join(str(error).split())[:200]
    raise SpecInvError(f"{path}: not valid YAML ({first}); is it the model's config?") from None


def parse_model_config(data, path="model config"):
  """`read_model_config` of content already parsed (a dict).

  Args:
    data: The parsed JSON / YAML content.
    path: The file's name, for messages and for finding ESPnet's stats file.

  Returns:
    A `ModelConfig`.

  Raises:
    SpecInvError: as `read_model_config`.
  """
  kind = _detect(data, path)
  convention, fields, stats_file, missing = _READERS[kind](data, path)
  return ModelConfig(path, kind, convention, tuple(fields), stats_file, missing)


def _vocos_extractor(data):
  model = data.get("model")
  holders = [data, model.get("init_args") if isinstance(model, dict) else None]
  for holder in holders:
    extractor = holder.get("feature_extractor") if isinstance(holder, dict) else None
    if isinstance(extractor, dict):
      return extractor
  return None


_HIFIGAN_KEYS = ("sampling_rate", "n_fft", "hop_size", "win_size", "num_mels", "fmin", "fmax")


def _detect(data, path):
  if not isinstance(data, dict):
    raise SpecInvError(f"{path}: holds a {type(data).__name__}, not a mapping of settings; "
                       f"expected {_KNOWN}.")
  if isinstance(data.get("audio"), dict):
    return "coqui"
  if "feats_extract_conf" in data or "feats_extract" in data:
    return "espnet"
  if _vocos_extractor(data) is not None:
    return "vocos"
  if "fft_size" in data or ("format" in data and "hop_size" in data):
    return "tensorflowtts"
  if sum(key in data for key in _HIFIGAN_KEYS) >= 3 and (
      "win_size" in data or "n_fft" in data or "num_mels" in data):
    return "hifigan"
  keys = ", ".join(sorted(map(str, data))[:12]) or "(none)"
  raise SpecInvError(f"{path}: not a model config this reads (top-level keys: {keys}); "
                     f"expected {_KNOWN}; otherwise pass the settings as flags (--sample_rate, "
                     "--n_fft, --hop_length, --n_mels, ...).")


def _require(section, names, path, what):
  missing = [name for name in names if name not in section]
  if missing:
    raise SpecInvError(f"{path}: this {what} lacks the audio field(s) "
                       f"{', '.join(missing)}; add them to the file or pass the settings as "
                       "flags without --model_config.")


def _number(value, name, path, integer=False):
  if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
      or (integer and value != int(value)):
    kind = "an integer" if integer else "a number"
    raise SpecInvError(f"{path}: {name}={value!r} must be {kind}; fix the file.")
  return int(value) if integer else float(value)


# ------------------------------------------------------------------ kinds
def _hifigan(data, path):
  """jik876/hifi-gan `config_v1.json`, NVIDIA/BigVGAN `configs/*.json` (meldataset keys)."""
  _require(data, _HIFIGAN_KEYS, path, "HiFi-GAN / BigVGAN config.json")
  fields = [("sample_rate", _number(data["sampling_rate"], "sampling_rate", path, True)),
            ("n_fft", _number(data["n_fft"], "n_fft", path, True)),
            ("hop_length", _number(data["hop_size"], "hop_size", path, True)),
            ("win_length", _number(data["win_size"], "win_size", path, True)),
            ("n_mels", _number(data["num_mels"], "num_mels", path, True)),
            ("fmin", _number(data["fmin"] or 0, "fmin", path)),
            # fmax null: librosa's mel filters go to sample_rate / 2.
            ("fmax", None if data["fmax"] is None else _number(data["fmax"], "fmax", path))]
  return "hifigan", fields, None, None


def _espnet(data, path):
  """ESPnet2 TTS `config.yaml`: `feats_extract: fbank` (`LogMelFbank`) and `normalize`."""
  extract = data.get("feats_extract", "fbank")
  if extract not in ("fbank", None):
    raise SpecInvError(f"{path}: feats_extract={extract!r}; only ESPnet's log-mel 'fbank' "
                       "(LogMelFbank) is read; pass the settings as flags instead.")
  conf = data.get("feats_extract_conf") or {}
  if not isinstance(conf, dict):
    raise SpecInvError(f"{path}: feats_extract_conf is not a mapping; fix the file.")
  _require(conf, ("fs", "n_fft", "hop_length", "n_mels"), path,
           "ESPnet config (feats_extract_conf)")
  n_fft = _number(conf["n_fft"], "n_fft", path, True)
  # LogMelFbank defaults: win_length None (= n_fft), fmin None (0), fmax None (fs / 2).
  win = conf.get("win_length")
  fields = [("sample_rate", _number(conf["fs"], "fs", path, True)),
            ("n_fft", n_fft),
            ("hop_length", _number(conf["hop_length"], "hop_length", path, True)),
            ("win_length", n_fft if win is None else _number(win, "win_length", path, True)),
            ("n_mels", _number(conf["n_mels"], "n_mels", path, True)),
            ("fmin", _number(conf.get("fmin") or 0, "fmin", path)),
            ("fmax", None if conf.get("fmax") is None else _number(conf["fmax"], "fmax", path))]
  if "log_base" in conf:
    base = conf["log_base"]
    fields.append(("log_base", math.e if base is None else _number(base, "log_base", path)))
  window = conf.get("window", "hann")
  if window != "hann":
    fields.append(("window", window))
  stats_file = missing = None
  if data.get("normalize") == "global_mvn":
    named = (data.get("normalize_conf") or {}).get("stats_file")
    if named:
      stats_file = _find_beside(path, str(named))
      missing = None if stats_file else str(named)
  return "espnet", fields, stats_file, missing


def _find_beside(path, named):
  """`named` as given, or relative to the config's folder and up to 4 folders above it.

  ESPnet writes paths relative to the recipe folder (`exp/.../feats_stats.npz`)
  while the config sits in `exp/<model>/config.yaml`.
  """
  if os.path.isabs(named):
    return named if os.path.isfile(named) else None
  folder = os.path.dirname(os.path.abspath(path))
  candidates = [named]
  for _ in range(5):
    candidates.append(os.path.join(folder, named))
    folder = os.path.dirname(folder)
  for candidate in candidates:
    if os.path.isfile(candidate):
      return candidate
  return None


_TFTTS_WINDOWS = ("hann", "hamming", "blackman")


def _tensorflowtts(data, path):
  """TensorFlowTTS `preprocess/*_preprocess.yaml` or `examples/*/conf/*.yaml`."""
  _require(data, ("sampling_rate", "hop_size"), path, "TensorFlowTTS config")
  rate = _number(data["sampling_rate"], "sampling_rate", path, True)
  hop = _number(data["hop_size"], "hop_size", path, True)
  feats_rate = data.get("sampling_rate_for_feats")
  if feats_rate is not None:  # Mels made at another rate: hop scaled as preprocess.py does.
    feats_rate = _number(feats_rate, "sampling_rate_for_feats", path, True)
    hop, rate = hop * feats_rate // rate, feats_rate
  fields = [("sample_rate", rate), ("hop_length", hop)]
  if "fft_size" in data:
    n_fft = _number(data["fft_size"], "fft_size", path, True)
    win = data.get("win_length")
    fields += [("n_fft", n_fft),
               ("win_length", n_fft if win is None else _number(win, "win_length", path, True))]
  if "window" in data and data["window"] is not None:
    if data["window"] not in _TFTTS_WINDOWS:
      raise SpecInvError(f"{path}: window={data['window']!r} is not supported; use one of "
                         f"{', '.join(map(repr, _TFTTS_WINDOWS))}.")
    fields.append(("window", data["window"]))
  if "num_mels" in data:
    fields.append(("n_mels", _number(data["num_mels"], "num_mels", path, True)))
  if "fmin" in data:
    fields.append(("fmin", _number(data["fmin"] or 0, "fmin", path)))
  if "fmax" in data:  # preprocess.py: fmax None -> sampling_rate // 2.
    fmax = data["fmax"]
    fields.append(("fmax", float(rate // 2) if fmax is None else _number(fmax, "fmax", path)))
  return "tensorflowtts", fields, None, None


def _vocos(data, path):
  """charactr-platform/vocos `configs/vocos.yaml` or a model's `config.yaml`."""
  extractor = _vocos_extractor(data)
  class_path = str(extractor.get("class_path", ""))
  if not class_path.endswith("MelSpectrogramFeatures"):
    raise SpecInvError(f"{path}: the Vocos feature extractor is {class_path or '(none)'!r}; "
                       "only MelSpectrogramFeatures (mel) features are read.")
  args = extractor.get("init_args") or {}
  _require(args, ("sample_rate", "n_fft", "hop_length", "n_mels"), path,
           "Vocos config (feature_extractor.init_args)")
  n_fft = _number(args["n_fft"], "n_fft", path, True)
  hop = _number(args["hop_length"], "hop_length", path, True)
  fields = [("sample_rate", _number(args["sample_rate"], "sample_rate", path, True)),
            ("n_fft", n_fft), ("hop_length", hop),
            ("n_mels", _number(args["n_mels"], "n_mels", path, True))]
  padding = args.get("padding", "center")
  if padding == "same":  # Reflect-pad (win_length - hop) // 2 each side, then center=False.
    fields += [("center", False), ("padding", (n_fft - hop) // 2)]
  elif padding != "center":
    raise SpecInvError(f"{path}: padding={padding!r}; Vocos takes 'center' or 'same'.")
  for key, name in (("f_min", "fmin"), ("f_max", "fmax")):
    if args.get(key) is not None:
      fields.append((name, _number(args[key], key, path)))
  return "vocos", fields, None, None


def _coqui(data, path):
  """Coqui TTS `config.json`: the `audio` section, through `conventions.from_coqui_audio`.

  The fields are those of the resulting config that differ from the `coqui`
  preset's defaults. With `stats_path` and `signal_norm` the features were
  standardised with that file's `mel_mean` / `mel_std` (a pickled dict, not
  read here): `missing_stats_file` names it and `--stats` must give them.
  """
  from tfspecinv import conventions  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel
  audio = data["audio"]
  _require(audio, ("sample_rate", "fft_size", "num_mels"), path, "Coqui config.json (audio)")
  standardised = bool(audio.get("stats_path")) and audio.get("signal_norm", True)
  stats = None
  if standardised:  # Placeholder statistics: only the other fields are taken from here.
    n_mels = _number(audio["num_mels"], "num_mels", path, True)
    stats = (np.zeros(n_mels), np.ones(n_mels))
  try:
    config = conventions.from_coqui_audio(audio, stats=stats)
  except SpecInvError as error:
    raise SpecInvError(f"{path}: {error}") from None
  default = conventions.make("coqui")
  skip = ("feature_mean", "feature_scale")
  fields = [(name, getattr(config, name)) for name in _field_names(config)
            if name not in skip and getattr(config, name) != getattr(default, name)]
  missing = str(audio["stats_path"]) if standardised else None
  return "coqui", fields, None, missing


def _field_names(config):
  import dataclasses  # pylint: disable=import-outside-toplevel
  return [field.name for field in dataclasses.fields(config)]


_READERS = {"coqui": _coqui, "hifigan": _hifigan, "espnet": _espnet,
            "tensorflowtts": _tensorflowtts, "vocos": _vocos}


def describe(found, overridden=()):
  """The command line's one line: which fields were taken from the file.

  Args:
    found: A `ModelConfig`.
    overridden: Field names that flags set instead.

  Returns:
    E.g. `model_config: took convention=hifigan, sample_rate=22050, ... from config.json`.
  """
  def show(value):
    return f"{value:g}" if isinstance(value, float) else str(value)
  taken = [] if "convention" in overridden else [f"convention={found.convention}"]
  taken += [f"{name}={show(value)}" for name, value in found.fields if name not in overridden]
  if found.stats_file and "stats" not in overridden:
    taken.append(f"stats={found.stats_file}")
  line = f"model_config: took {', '.join(taken)} from {found.path}"
  if overridden:
    line += f" (flags override {', '.join(overridden)})"
  return line

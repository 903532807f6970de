"""One inversion job, shared by the command line and the Beam pipeline.

The flags (defined once, here) describe a job; `JobSettings.from_flags` freezes
them into a picklable value, and the functions below do the per-item work
from it alone, so `tfspecinv.cli` (one file or a folder) and `tfspecinv.beam`
(a pipeline on many workers) do exactly the same thing to each input:

  item = load_item(settings, path, output)          # one input -> config + spectrogram
  waveforms, result = reconstruct_items(settings, [item, ...])
  written, gain, peak = write_output(settings, item, waveforms[0])   # levels, then the file
  quality = measure(item, written, result, 0)       # the written file's fit

Nothing here reads `FLAGS` except `JobSettings.from_flags`; TensorFlow is
imported only when an item needs it.
"""

import collections
import dataclasses
import io
import math
import os
import sys

from absl import flags

from tfspecinv import conventions

__all__ = ["JobSettings", "Item", "UsageError", "build_config", "read_model_files", "load_item",
           "load_items", "item_outputs", "item_settings", "tfrecord_items", "check_array_item",
           "group_items", "reconstruct_items", "levels", "gain_for", "Records", "split_source",
           "source_order", "output_files", "effective_length", "group_key", "write_output",
           "encode_audio", "measure", "warn_about_fit", "warn_about_budget", "block_frames",
           "import_tensorflow_quietly", "say"]

FLAGS = flags.FLAGS

# Input and output.
flags.DEFINE_string("input", None, "Input: a .wav/.flac/.ogg (round trip), a .npy/.npz "
                    "spectrogram, a .png/.jpg picture, a folder of them, or a .tfrecord file "
                    "of spectrograms. Beam: file patterns, comma-separated.")
flags.DEFINE_string("output", None, "Output .wav (or a folder when --input is a folder or a "
                    "TFRecord file; Beam: the output folder).")
flags.DEFINE_enum("layout", None, ["bins_frames", "frames_bins"],
                  "How arrays are stored: [bins, frames] (librosa, torchaudio) or "
                  "[frames, bins] (tf.signal). Default: the convention's.")
flags.DEFINE_string("key", None, "Array name inside a .npz with several arrays; feature name "
                    "in a TFRecord file (default 'spectrogram').")
flags.DEFINE_boolean("overwrite", False, "Replace existing output files.")
flags.DEFINE_string("report", None, "Write a JSON report (config, iterations, time, loss "
                    "history, quality) to this path.")
flags.DEFINE_string("plot", None, "Write a PNG with target and reconstructed spectrograms and "
                    "the loss curve (needs matplotlib: pip install -e '.[plot]').")
flags.DEFINE_enum("normalize", "auto", ["auto", "peak", "none"],
                  "Output level: 'peak' scales to a 0.99 peak; 'auto' only scales down what "
                  "would clip (with a warning); 'none' writes as is (warns if it clips).")
flags.DEFINE_enum("subtype", "PCM_16", ["PCM_16", "PCM_24", "FLOAT"], "Output sample format. "
                  "Default: a round trip keeps the input's (PCM_16, PCM_24 or FLOAT), anything "
                  "else PCM_16.")
flags.DEFINE_boolean("mono", False, "Round trip: average the input's channels into one "
                     "(default: every channel is kept, in order, inverted as one batch).")
flags.DEFINE_boolean("channels", False, "Arrays: the axis before the spectrogram's two is "
                     "channels of one multichannel wav ([channels, bins, frames], as librosa's "
                     "multichannel functions return). Without it, leading axes are separate "
                     "items: [1, bins, frames] is one wav, [B, bins, frames] B wavs, OUT_00000.wav "
                     "... beside --output (a TFRecord record must hold one item).")
flags.DEFINE_boolean("quiet", False, "No progress output.")

# Spectrogram pictures (.png/.jpg).
flags.DEFINE_string("db_range", None, "For pictures: the dB values of the darkest and brightest "
                    "colours, LOW,HIGH (e.g. -80,0 for amplitude_to_db(ref=np.max)).")
flags.DEFINE_string("colormap", "gray", "For pictures: 'gray' or the matplotlib colormap used.")
flags.DEFINE_enum("origin", "lower", ["lower", "upper"], "For pictures: where the low "
                  "frequencies are ('lower' = bottom, as specshow draws them).")
flags.DEFINE_enum("value_map", None, ["db", "power"], "For pictures: what grey levels stand "
                  "for: 'db' (linear in dB over --db_range) or 'power' ((S / max S) ** "
                  "--image_power of linear values). Default: the convention's, else 'db'.")
flags.DEFINE_float("image_power", None, "For --value_map=power pictures: the exponent "
                   "(Riffusion: 0.25).")
flags.DEFINE_boolean("invert_grey", None, "For pictures: loud is dark (levels read as 255 - "
                     "level, as Riffusion draws them). Default: the convention's, else no.")
flags.DEFINE_enum("channel", None, ["mean", "r", "g", "b"], "For grey pictures saved as RGB: "
                  "'mean' (channels must be equal) or the one channel holding the values "
                  "(Riffusion stereo: g left, b right). Default: mean.")
flags.DEFINE_boolean("resize", False, "For pictures: resample to the expected bins and the "
                     "frames of --duration or --length (one is required) instead of failing on "
                     "a size mismatch.")

# Representation (every field of SpectrogramConfig; unset means the convention's default).
flags.DEFINE_enum("convention", "librosa", list(conventions.NAMES),
                  "Library or model whose conventions made the input (see the README's "
                  "'Which convention is my spectrogram?').")
flags.DEFINE_enum("representation", "mel", ["stft", "mel", "mfcc"],
                  "What the input holds (or what the round trip computes).")
flags.DEFINE_float("power", None, "1 for magnitude, 2 for power.")
flags.DEFINE_enum("scale", None, ["linear", "db", "log", "log1p"], "Amplitude scale.")
flags.DEFINE_float("amin", None, "Floor before logs (power units for power 2).")
flags.DEFINE_string("ref", None, "dB reference: a positive number or 'max'.")
flags.DEFINE_string("top_db", None, "dB clipping range below the peak, or 'none'.")
flags.DEFINE_integer("sample_rate", None, "Sample rate in Hz (round trip: the file's).")
flags.DEFINE_integer("n_fft", None, "FFT size in samples.")
flags.DEFINE_integer("hop_length", None, "Hop between frames in samples.")
flags.DEFINE_integer("win_length", None, "Window length in samples (<= n_fft).")
flags.DEFINE_enum("window", None, ["hann", "hamming", "blackman", "ones"], "Window.")
flags.DEFINE_boolean("center", None, "Centre frames (pad n_fft // 2 on each side).")
flags.DEFINE_enum("pad_mode", None, ["constant", "reflect", "symmetric", "edge"],
                  "Padding used when centring.")
flags.DEFINE_integer("n_mels", None, "Number of mel bands.")
flags.DEFINE_float("fmin", None, "Lowest mel frequency in Hz.")
flags.DEFINE_float("fmax", None, "Highest mel frequency in Hz.")
flags.DEFINE_enum("mel_scale", None, ["slaney", "htk"], "Mel scale.")
flags.DEFINE_enum("mel_norm", None, ["slaney", "none"], "Mel filter normalisation.")
flags.DEFINE_integer("n_mfcc", None, "Number of MFCCs.")
flags.DEFINE_float("lifter", None, "MFCC liftering coefficient (librosa), 0 for none.")
flags.DEFINE_float("log_base", None, "Base of --scale=log: e (2.718281828459045), 10 or 2.")
flags.DEFINE_float("affine_scale", None, "Stored values are scaled * affine_scale + "
                   "affine_offset (after --scale; > 0).")
flags.DEFINE_float("affine_offset", None, "See --affine_scale.")
flags.DEFINE_string("clip_range", None, "Stored values were clipped to LOW,HIGH after all "
                    "scaling (e.g. -4,4 for Coqui TTS's clip_norm), or 'none'.")
flags.DEFINE_float("preemphasis", None, "The waveform was pre-emphasised, y[n] - a*y[n-1], "
                   "before the STFT (e.g. 0.97); the output is de-emphasised. 0 for none.")
flags.DEFINE_string("stats", None, "Per-feature mean and scale the features were standardised "
                    "with, (x - mean) / scale: a .npy [2, features] (TensorFlowTTS stats.npy, "
                    "scikit-learn StandardScaler mean_, scale_) or a .npz (mean and scale or var; "
                    "ESPnet count, sum, sum_square); 'none' drops the file a --model_config names.")
flags.DEFINE_string("model_config", None, "The model's own config file: a Coqui TTS config.json, "
                    "a HiFi-GAN / BigVGAN config.json, or an ESPnet, TensorFlowTTS or Vocos YAML "
                    "(needs PyYAML); its audio settings and preset are used, flags override them.")
flags.DEFINE_integer("length", None, "Output length in samples (default from the frames).")
flags.DEFINE_float("duration", None, "Output length in seconds: round(duration * sample_rate) "
                   "samples; with --length, the two must agree. Pictures need it (or --length) "
                   "with --resize.")

# Engine.
flags.DEFINE_enum("method", "auto", ["auto", "lbfgs", "joint", "griffin_lim"],
                  "auto: the recipe that wins for the representation and time budget "
                  "(tfspecinv.pipeline.auto_recipe); Griffin-Lim then L-BFGS on the waveform "
                  "(lbfgs), on the STFT (joint), or Griffin-Lim only.")
flags.DEFINE_integer("gl_iters", None, "Griffin-Lim iterations (default: the recipe's: 32 for "
                     "mel/MFCC, 500 for linear magnitudes and pictures).", lower_bound=0)
flags.DEFINE_integer("lbfgs_iters", None, "L-BFGS iterations (default: the recipe's: 350 for "
                     "mel and MFCC, 50 for linear).", lower_bound=0)
flags.DEFINE_float("time_budget", None, "Seconds of iterations per reconstruction (Griffin-Lim "
                   "and L-BFGS until it is spent). A shape's first call in a process also "
                   "traces and compiles: that time is not counted, but reported (and warned "
                   "about when it exceeds half the budget).", lower_bound=0.0)
flags.DEFINE_enum("init", "auto", ["auto", "pghi", "random", "zeros", "pghi+zeros"],
                  "Initial phase of Griffin-Lim: phase-gradient heuristic integration (pghi), "
                  "random, zeros, or pghi+zeros (both, keeping the better fit after 500 "
                  "iterations); auto is pghi+zeros for linear magnitudes, pghi for mel and "
                  "MFCC, random for --window=ones.")
flags.DEFINE_integer("seed", 0, "Seed of the random initial phase.")
flags.DEFINE_boolean("jit", None, "Run L-BFGS as one XLA loop (--jit) or in TensorFlow's "
                     "executor (--nojit). Default: XLA from 100 iterations, as in the defaults.")
flags.DEFINE_integer("batch_size", 1, "Inputs of a folder or TFRecord file reconstructed "
                     "together: up to this many of one shape, config and output length.",
                     lower_bound=1)
flags.DEFINE_integer("block_frames", None, "Long audio: reconstruct in overlapping blocks of "
                     "this many frames, streaming to the output in bounded memory. Default: "
                     f"blocks of 2048 for inputs over {4 * 2048} frames; 0 never.", lower_bound=0)

flags.DEFINE_boolean("stream", False, "Invert frame by frame through the streaming engine "
                     "(tfspecinv.StreamingInverter: RTPGHI + look-ahead Griffin-Lim) and report "
                     "its latency and real-time factor.")
flags.DEFINE_integer("stream_chunk", 1, "With --stream: frames per push.", lower_bound=1)

_AUTO_BLOCK_FRAMES = 2048
_AUTO_LONG_FRAMES = 4 * _AUTO_BLOCK_FRAMES

_CONFIG_FLAGS = ("power", "scale", "amin", "sample_rate", "n_fft", "hop_length", "win_length",
                 "window", "center", "pad_mode", "n_mels", "fmin", "fmax", "mel_scale",
                 "mel_norm", "n_mfcc", "lifter", "layout", "representation", "log_base",
                 "affine_scale", "affine_offset", "preemphasis")

# The job's flags other than the config fields, copied as they are.
_JOB_FLAGS = ("convention", "ref", "top_db", "key", "overwrite", "report", "plot", "normalize",
              "subtype", "quiet", "db_range", "colormap", "origin", "resize", "length", "duration",
              "method", "gl_iters", "lbfgs_iters", "time_budget", "init", "seed", "jit",
              "value_map", "image_power", "invert_grey", "channel",
              "batch_size", "block_frames", "clip_range", "stats", "model_config", "mono",
              "channels", "stream", "stream_chunk")


class UsageError(Exception):
  """A flag value that cannot work; exit status 2 on the command line."""


# ---------------------------------------------------------------- settings
@dataclasses.dataclass(frozen=True)
class JobSettings:
  """Everything the flags say about a job, frozen and picklable (sent to Beam workers).

  `overrides` are the config fields given on the command line (plus
  `representation`), as `(name, value)` pairs; `given` names every flag that
  was given. The other fields are the flags of the same name.
  """
  overrides: tuple = (("representation", "mel"),)
  given: frozenset = frozenset()
  convention: str = "librosa"
  ref: str = None
  top_db: str = None
  key: str = None
  overwrite: bool = False
  report: str = None
  plot: str = None
  normalize: str = "auto"
  subtype: str = "PCM_16"
  quiet: bool = False
  db_range: str = None
  colormap: str = "gray"
  origin: str = "lower"
  value_map: str = None
  image_power: float = None
  invert_grey: bool = None
  channel: str = None
  resize: bool = False
  length: int = None
  duration: float = None
  method: str = "auto"
  gl_iters: int = None
  lbfgs_iters: int = None
  time_budget: float = None
  init: str = "auto"
  seed: int = 0
  jit: bool = None
  batch_size: int = 1
  block_frames: int = None
  clip_range: str = None
  mono: bool = False
  channels: bool = False
  stream: bool = False
  stream_chunk: int = 1
  verbosity: int = 0
  stats: str = None
  model_config: str = None
  # Read from --model_config and --stats by `read_model_files` (files stay on this machine).
  file_convention: str = None
  file_fields: tuple = ()
  feature_stats: tuple = None

  @classmethod
  def from_flags(cls, flag_values=FLAGS):
    """The settings of parsed flags.

    Args:
      flag_values: absl `FlagValues` holding this module's flags (parsed).

    Returns:
      A `JobSettings`.
    """
    overrides = tuple((name, flag_values[name].value) for name in _CONFIG_FLAGS
                      if flag_values[name].value is not None and
                      (flag_values[name].present or name == "representation"))
    given = frozenset(name for name in _CONFIG_FLAGS + _JOB_FLAGS if flag_values[name].present)
    values = {name: flag_values[name].value for name in _JOB_FLAGS}
    verbosity = flag_values["verbosity"].value if "verbosity" in flag_values else 0
    return read_model_files(cls(overrides=overrides, given=given, verbosity=verbosity, **values))


def read_model_files(settings):
  """Settings with --model_config's preset and fields and --stats' statistics read in.

  Prints the fields taken from the model config (one line, unless --quiet).

  Args:
    settings: `JobSettings` with `model_config` / `stats` paths (or neither).

  Returns:
    `JobSettings` with `file_convention`, `file_fields` and `feature_stats`
    ((mean, scale, path) or None) set.

  Raises:
    UsageError: a YAML config without PyYAML, or a config that normalises
      with a statistics file that is not found and no --stats.
    SpecInvError: a missing or bad config or statistics file.
  """
  changes = {}
  stats_path = settings.stats
  if settings.model_config:
    from tfspecinv import model_config  # pylint: disable=import-outside-toplevel
    try:
      found = model_config.read_model_config(settings.model_config)
    except model_config.MissingDependencyError as error:
      raise UsageError(f"--model_config: {error}") from None
    if found.missing_stats_file and stats_path is None:
      if found.kind == "coqui":
        raise UsageError(
            f"--model_config={settings.model_config} standardises features with stats_path "
            f"{found.missing_stats_file}, a pickled dict that is not read: save its mel_mean "
            "and mel_std as a .npy [2, n_mels] (np.stack([d['mel_mean'], d['mel_std']])) and "
            "pass --stats=FILE.")
      raise UsageError(
          f"--model_config={settings.model_config} normalises features with "
          f"{found.missing_stats_file}, not found beside it; pass --stats=FILE for normalised "
          "features (ESPnet feat_gen) or --stats=none for denormalised ones (feat_gen_denorm).")
    flagged = {name for name, _ in settings.overrides if name in settings.given}
    overridden = [name for name, _ in found.fields if name in flagged]
    if "convention" in settings.given and settings.convention != found.convention:
      overridden.insert(0, "convention")
    if stats_path is not None and found.stats_file:
      overridden.append("stats")
    say(settings, model_config.describe(found, tuple(overridden)))
    changes.update(file_convention=found.convention, file_fields=found.fields)
    if stats_path is None:
      stats_path = found.stats_file
  if stats_path and stats_path.lower() != "none":
    from tfspecinv import stats  # pylint: disable=import-outside-toplevel
    found_stats = stats.read_stats(stats_path)
    changes["feature_stats"] = (found_stats.mean, found_stats.scale, stats_path)
  return dataclasses.replace(settings, **changes) if changes else settings


def say(settings, text):
  """A progress line on stderr unless --quiet."""
  if not settings.quiet:
    print(text, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ config
def _parse_ref(text):
  if text is None:
    return None
  if text == "max":
    return "max"
  try:
    return float(text)
  except ValueError:
    raise UsageError(f"--ref={text!r}: use a positive number or 'max'.") from None


def _parse_top_db(text):
  if text is None:
    return None
  if text.lower() == "none":
    return "none"
  try:
    return float(text)
  except ValueError:
    raise UsageError(f"--top_db={text!r}: use a number of dB or 'none'.") from None


def _parse_clip_range(text):
  if text is None:
    return None
  if text.lower() == "none":
    return "none"
  try:
    low, high = (float(v) for v in text.split(","))
  except ValueError:
    raise UsageError(f"--clip_range={text!r}: use two numbers LOW,HIGH (e.g. -4,4) or "
                     "'none'.") from None
  if not high > low:
    raise UsageError(f"--clip_range={text!r}: HIGH must exceed LOW (e.g. -4,4).")
  return (low, high)


# MFCCs are taken of dB (librosa, torchaudio) or log (tf.signal) mels; the model
# presets carry their own scale.
_LIBRARY_MFCC_SCALES = {"librosa": "db", "torchaudio": "db", "tf_signal": "log"}


def build_config(settings, file_sample_rate=None):
  """The `SpectrogramConfig` the settings describe (preset + explicit overrides).

  Args:
    settings: `JobSettings`.
    file_sample_rate: The sample rate of an audio input (round trip), or None.

  Returns:
    A `SpectrogramConfig`.

  Raises:
    UsageError: a bad --ref, --top_db or --clip_range.
    SpecInvError: --sample_rate disagrees with the audio file, or an invalid config.
  """
  overrides = dict(settings.overrides)
  ref, top_db = _parse_ref(settings.ref), _parse_top_db(settings.top_db)
  if ref is not None:
    overrides["ref"] = ref
  if top_db is not None:
    overrides["top_db"] = None if top_db == "none" else top_db
  clip_range = _parse_clip_range(settings.clip_range)
  if clip_range is not None:
    overrides["clip_range"] = None if clip_range == "none" else clip_range
  if file_sample_rate is not None:
    if "sample_rate" in overrides and overrides["sample_rate"] != file_sample_rate:
      raise data_error(
          f"--sample_rate={overrides['sample_rate']} but the audio is {file_sample_rate} Hz; "
          "resampling is not built in: drop --sample_rate or resample the file first.")
    overrides["sample_rate"] = file_sample_rate
  convention = settings.convention
  if settings.file_convention and "convention" not in settings.given:
    convention = settings.file_convention
  overrides = {**dict(settings.file_fields), **overrides}  # Flags over the model config.
  if (overrides.get("representation") == "mfcc" and "scale" not in overrides and
      convention in _LIBRARY_MFCC_SCALES):
    overrides["scale"] = _LIBRARY_MFCC_SCALES[convention]
  config = conventions.make(convention, **overrides)
  return _with_feature_stats(config, settings.feature_stats)


def _with_feature_stats(config, feature_stats):
  """The config standardised with --stats (mean, scale, path), checked against its features."""
  if feature_stats is None:
    return config
  mean, scale, path = feature_stats
  if len(mean) != config.n_features:
    what = (f"n_mels={config.n_mels}" if config.representation == "mel" else
            f"{config.n_features} {config.representation} features")
    raise data_error(
        f"{path}: the statistics have {len(mean)} features but the spectrogram has "
        f"{config.n_features} ({what}); use the statistics of the model that made it (or set "
        "--n_mels if the model has another count).")
  return config.replace(feature_mean=mean, feature_scale=scale)


def data_error(message):
  """A `SpecInvError` (bad data; exit status 1) without importing TensorFlow."""
  from tfspecinv.errors import SpecInvError  # pylint: disable=import-outside-toplevel
  return SpecInvError(message)


# ------------------------------------------------------------------ levels
def levels(settings, waveform, config, level_unknown=False):
  """Apply --normalize.

  Args:
    settings: `JobSettings`.
    waveform: Float array `[samples]` or `[channels, samples]` (one gain for all).
    config: The item's `SpectrogramConfig`.
    level_unknown: The input never held an absolute level (a picture).

  Returns:
    (the samples to write, the gain, the peak before it).
  """
  import numpy as np  # pylint: disable=import-outside-toplevel
  peak = float(np.max(np.abs(waveform))) if waveform.size else 0.0
  gain = gain_for(settings, peak, config, level_unknown)
  return waveform * gain, gain, peak


def gain_for(settings, peak, config, level_unknown=False):
  """The --normalize gain for a waveform of this peak.

  'auto' scales down what would clip, and peak-normalises when the input's
  absolute gain was never stored (dB relative to the maximum, pictures).

  Args:
    settings: `JobSettings`.
    peak: The waveform's peak (>= 0).
    config: The item's `SpectrogramConfig`.
    level_unknown: The input never held an absolute level (a picture).

  Returns:
    The gain (float).
  """
  clips = settings.subtype != "FLOAT" and peak > 1.0
  gain_unknown = level_unknown or (config.scale == "db" and config.ref == "max")
  normalize = settings.normalize
  if peak > 0 and (normalize == "peak" or (normalize == "auto" and gain_unknown)):
    if normalize == "auto":
      say(settings, f"note: the input is {'a picture' if level_unknown else 'dB'} relative to "
          "its maximum (absolute level unknown); "
          "output peak-normalised to 0.99 (--normalize=none to keep the raw level).")
    return 0.99 / peak
  if clips and normalize == "auto":
    print(f"warning: peak {peak:.3g} would clip in {settings.subtype}; scaled to 0.99 "
          "(--normalize=none to keep the level, --subtype=FLOAT to store it).", file=sys.stderr)
    return 0.99 / peak
  if clips:
    print(f"warning: peak {peak:.3g} > 1 clips in {settings.subtype} "
          "(use --normalize=auto/peak or --subtype=FLOAT).", file=sys.stderr)
  return 1.0


# ------------------------------------------------------------------- items
@dataclasses.dataclass
class Item:
  """One input on its way to one output file."""
  source: str
  output: str
  spectrogram: object = None
  config: object = None
  reference_audio: object = None
  length: object = None
  name: object = None  # The input-derived name its output file was made from (manifests).
  subtype: str = None  # The output's sample format; None: --subtype.
  changes: tuple = ()  # What the output changes from the input (a round trip's), said once.
  level_unknown: bool = False


def load_item(settings, path, output):
  """Read one input: a representation (array or picture) or audio to round-trip.

  Arrays are checked with NumPy alone, so a bad file fails before TensorFlow loads.

  Args:
    settings: `JobSettings`.
    path: A local .npy/.npz/.png/.jpg/.wav/.flac/.ogg file.
    output: Where its wav will go.

  Returns:
    An `Item` with its config and spectrogram.

  Raises:
    SpecInvError: unreadable, malformed or invalid data.
    UsageError: picture flags that cannot work.
  """
  import numpy as np  # pylint: disable=import-outside-toplevel
  from tfspecinv import io as io_lib  # pylint: disable=import-outside-toplevel
  from tfspecinv import validation  # pylint: disable=import-outside-toplevel
  from tfspecinv.errors import SpecInvError  # pylint: disable=import-outside-toplevel
  item = Item(path, output)
  kind = io_lib.input_kind(path)
  if kind == "image":
    import_tensorflow_quietly(settings.verbosity)
    _load_image(settings, item)
  elif kind == "audio":
    samples, sample_rate = io_lib.read_audio(path, mono=settings.mono)
    item.config = build_config(settings, file_sample_rate=sample_rate)
    item.subtype, item.changes = _round_trip_format(settings, path, output)
    import_tensorflow_quietly(settings.verbosity)
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    from tfspecinv import transforms  # pylint: disable=import-outside-toplevel
    item.reference_audio = samples
    item.spectrogram = transforms.forward(tf.constant(samples), item.config).numpy()
    if settings.length is None:
      item.length = samples.shape[-1]
    _apply_duration(settings, item)
  else:
    item.config = build_config(settings)
    item.spectrogram = np.asarray(io_lib.read_array(path, settings.key))
    check_shape(path, item.spectrogram, settings.channels)
    _apply_duration(settings, item)
    try:
      validation.check_spectrogram(item.spectrogram, item.config)
    except SpecInvError as error:
      raise SpecInvError(f"{path}: {error}") from None
  return item


def load_items(settings, path, output):
  """Read one input as its items: `load_item`'s one, or one per item of an array.

  An array's axes before the spectrogram's two (and before the channel axis
  with --channels) are items: `[1, bins, frames]` is one item written to
  `output`, `[B, bins, frames]` (or `[B1, B2, ...]`, flattened in C order) B
  items written to `item_outputs(output, B)`.

  Args:
    settings: `JobSettings`.
    path: A local input file (any kind `load_item` reads).
    output: Where its wav goes (the items' names derive from it).

  Returns:
    A list of `Item`s, each as `load_item` checks them.

  Raises:
    SpecInvError: as `load_item`.
  """
  import numpy as np  # pylint: disable=import-outside-toplevel
  from tfspecinv import io as io_lib  # pylint: disable=import-outside-toplevel
  if io_lib.input_kind(path) != "array":
    return [load_item(settings, path, output)]
  array = np.asarray(io_lib.read_array(path, settings.key))
  kept = 3 if settings.channels else 2
  if array.ndim <= kept:
    return [_array_item(settings, path, output, array)]
  arrays = array.reshape((-1,) + array.shape[array.ndim - kept:])
  if arrays.shape[0] == 1:
    return [_array_item(settings, path, output, arrays[0])]
  outputs = item_outputs(output, arrays.shape[0])
  say(settings, f"{path}: {arrays.shape[0]} items of shape {arrays.shape[1:]} (leading axes "
      f"{array.shape[:array.ndim - kept]}) -> {os.path.basename(outputs[0])} ... "
      f"{os.path.basename(outputs[-1])}"
      + ("" if settings.channels else "; --channels reads the axis before the spectrogram's "
         "as channels of one wav") + ".")
  return [_array_item(settings, f"{path}[{index}]", out, arrays[index])
          for index, out in enumerate(outputs)]


def item_outputs(output, count):
  """The outputs of `count` items of one array: `OUT_00000.wav`, ... beside `output`.

  Index-based, as a TFRecord file's unnamed records are named.
  """
  stem, ext = os.path.splitext(output)
  return [f"{stem}_{index:05d}{ext}" for index in range(count)]


def _array_item(settings, source, output, array):
  """An `Item` of one array already read (one spectrogram, or channels with --channels)."""
  from tfspecinv import validation  # pylint: disable=import-outside-toplevel
  from tfspecinv.errors import SpecInvError  # pylint: disable=import-outside-toplevel
  item = Item(source, output, spectrogram=array, config=build_config(settings))
  check_shape(source, array, settings.channels)
  _apply_duration(settings, item)
  try:
    validation.check_spectrogram(array, item.config)
  except SpecInvError as error:
    raise SpecInvError(f"{source}: {error}") from None
  return item


# Sample formats a round trip keeps; others are written in the nearest one.
_NEAREST_SUBTYPE = {"PCM_16": "PCM_16", "PCM_24": "PCM_24", "FLOAT": "FLOAT",
                    "PCM_32": "PCM_24", "DOUBLE": "FLOAT"}


def _round_trip_format(settings, path, output):
  """The output subtype of a round trip and what it changes (channels, sample format).

  Returns:
    `(subtype, changes)`: the subtype to write (the input's unless --subtype
    is given or the output cannot hold it) and a tuple of short sentences.
  """
  from tfspecinv import io as io_lib  # pylint: disable=import-outside-toplevel
  channels, subtype = io_lib.audio_format(path)
  changes = []
  if settings.mono and channels > 1:
    changes.append(f"{channels} channels downmixed to mono (--mono)")
  if "subtype" in settings.given:
    written, why = settings.subtype, "--subtype"
  else:
    written, why = _NEAREST_SUBTYPE.get(subtype, "PCM_16"), "the nearest format written"
    if written == "FLOAT" and os.path.splitext(output)[1].lower() == ".flac":
      written, why = "PCM_24", "FLAC holds no float samples"
  if written != subtype:
    changes.append(f"{subtype} written as {written} ({why})")
  return written, tuple(changes)


def item_settings(settings, item):
  """`settings` with the item's output sample format as --subtype (levels, clipping, writing)."""
  if item.subtype is None or item.subtype == settings.subtype:
    return settings
  return dataclasses.replace(settings, subtype=item.subtype)


def check_shape(source, spectrogram, channels=False):
  """Raise unless one spectrogram: 2-D, or 3-D `[channels, ...]` with `channels`."""
  if spectrogram.ndim == 2 or (channels and spectrogram.ndim == 3):
    return
  if spectrogram.ndim > 2:
    raise data_error(
        f"{source}: the array has shape {spectrogram.shape}; a TFRecord record holds one "
        "2-D spectrogram ([bins, frames], or [frames, bins] with --layout=frames_bins), or with "
        "--channels one [channels, bins, frames]: write one record per item.")
  raise data_error(
      f"{source}: the array has shape {spectrogram.shape}; it must hold a 2-D spectrogram "
      "([bins, frames], or [frames, bins] with --layout=frames_bins).")


def check_array_item(settings, item):
  """The checks of a TFRecord record's item: one spectrogram, --duration fits.

  Leading axes of length 1 (a model's `[1, bins, frames]`) are dropped.

  Raises:
    SpecInvError: either check fails.
  """
  kept = 3 if settings.channels else 2
  while item.spectrogram.ndim > kept and item.spectrogram.shape[0] == 1:
    item.spectrogram = item.spectrogram[0]
  check_shape(item.source, item.spectrogram, settings.channels)
  _apply_duration(settings, item)


def _parse_db_range(settings):
  if settings.db_range is None:
    raise UsageError("pictures need --db_range=LOW,HIGH: the dB values of the darkest and "
                     "brightest colours (e.g. --db_range=-80,0).")
  try:
    low, high = (float(v) for v in settings.db_range.split(","))
  except ValueError:
    raise UsageError(f"--db_range={settings.db_range!r}: use two numbers, LOW,HIGH "
                     "(e.g. -80,0).") from None
  if not high > low:
    raise UsageError(f"--db_range={settings.db_range!r}: HIGH must exceed LOW.")
  return low, high


def picture_map_for(settings):
  """The `image.PictureMap` of the settings: the convention's, changed by the picture flags.

  Raises:
    UsageError: picture flags that cannot work together (e.g. --db_range with
      --value_map=power) or a missing --db_range / --image_power.
  """
  from tfspecinv import image  # pylint: disable=import-outside-toplevel
  from tfspecinv.errors import SpecInvError  # pylint: disable=import-outside-toplevel
  preset = image.picture_map(settings.convention)
  fields = {} if preset is None else dataclasses.asdict(preset)
  value_map = settings.value_map or fields.get("value_map", "db")
  if value_map != fields.get("value_map"):
    fields.update(db_range=None, image_power=None)  # The preset's map no longer applies.
  fields["value_map"] = value_map
  if value_map == "db" and (settings.db_range is not None or fields.get("db_range") is None):
    fields["db_range"] = _parse_db_range(settings)
  elif settings.db_range is not None:
    raise UsageError(f"--db_range={settings.db_range!r} is for --value_map=db pictures; a "
                     "--value_map=power picture is relative to its maximum: drop --db_range.")
  if settings.image_power is not None:
    if value_map != "power":
      raise UsageError(f"--image_power={settings.image_power:g} is for --value_map=power "
                       "pictures; drop it or pass --value_map=power.")
    fields["image_power"] = settings.image_power
  elif value_map == "power" and fields.get("image_power") is None:
    raise UsageError("--value_map=power needs --image_power=P: the picture holds (S / max S) "
                     "** P (Riffusion: 0.25).")
  for flag, field in (("invert_grey", "invert"), ("channel", "channel")):
    if getattr(settings, flag) is not None:
      fields[field] = getattr(settings, flag)
  for name in ("colormap", "origin"):
    if name in settings.given or name not in fields:
      fields[name] = getattr(settings, name)
  try:
    return image.PictureMap(**fields)
  except SpecInvError as error:
    raise UsageError(str(error)) from None


def _load_image(settings, item):
  """A spectrogram picture: values and config as its picture map says."""
  from tfspecinv import image  # pylint: disable=import-outside-toplevel
  picture_map = picture_map_for(settings)
  defaults = {}
  if image.picture_map(settings.convention) is None:  # Plain pictures: dB STFT magnitudes.
    if "representation" not in settings.given:
      defaults["representation"] = "stft"
    if "power" not in settings.given:
      defaults["power"] = 1.0
  config = build_config(settings)
  config = config.replace(**defaults) if defaults else config
  item.config = image.picture_config(config, picture_map)
  item.level_unknown = True
  item.length = requested_length(settings, item.config)
  if settings.resize and item.length is None:
    raise data_error(_unknown_width_message(item.source, item.config,
                                            image.picture_size(item.source)[1]))
  frames = None if item.length is None else item.config.num_frames(item.length)
  hint = {"stft": "--n_fft", "mel": "--n_mels"}.get(item.config.representation, "--n_mfcc")
  values, note = image.read_picture(item.source, picture_map,
                                    (item.config.n_features, frames), settings.resize, hint)
  if note:
    say(settings, f"{item.source}: {note}.")
  item.spectrogram = values if item.config.layout == "bins_frames" else values.T


def _unknown_width_message(source, config, width):
  """--resize without a length: what the picture's width would mean as frames."""
  seconds = config.num_samples(width) / config.sample_rate
  return (f"{source}: --resize resamples the time axis too, and neither --length nor "
          f"--duration says how long the audio was: the picture is {width} px wide; taken as "
          f"{width} frames that is {seconds:.1f} s at {config.sample_rate} Hz with hop "
          f"{config.hop_length}; pass --duration=SECONDS or --length=SAMPLES.")


def requested_length(settings, config):
  """Output samples from --length or --duration; None when neither is given.

  Raises:
    UsageError: a duration that is not positive, or one that disagrees with --length.
  """
  if settings.duration is None:
    return settings.length
  length = round(settings.duration * config.sample_rate)
  if length < 1:
    raise UsageError(f"--duration={settings.duration:g}: give a positive number of seconds "
                     f"(at least one sample at {config.sample_rate} Hz).")
  if settings.length is not None and settings.length != length:
    raise UsageError(f"--duration={settings.duration:g} is {length} samples at "
                     f"{config.sample_rate} Hz but --length={settings.length}; pass one of "
                     "them (or two that agree).")
  return length


def _apply_duration(settings, item):
  """--duration for a spectrogram: its frame count must fit; sets the item's length.

  Raises:
    SpecInvError: the duration gives another frame count than the array has.
  """
  if settings.duration is None:
    return
  config, length = item.config, requested_length(settings, item.config)
  frames = item.spectrogram.shape[-1 if config.layout == "bins_frames" else -2]
  if config.num_frames(length) != frames:
    raise data_error(
        f"{item.source}: --duration={settings.duration:g} s is {length} samples, "
        f"{config.num_frames(length)} frames with hop_length={config.hop_length}, but the "
        f"spectrogram has {frames}; {_durations_for(frames, config)} or leave it unset.")
  item.length = length


def _durations_for(frames, config):
  """The --duration range (seconds, 1 ms steps) that gives `frames` frames, as advice."""
  middle, hop = config.num_samples(frames), config.hop_length
  lengths = [n for n in range(max(1, middle - 2 * hop), middle + 2 * hop + 1)
             if config.num_frames(n) == frames]
  if not lengths:
    return "no duration gives that many frames"
  low = math.ceil(lengths[0] / config.sample_rate * 1e3) / 1e3
  high = math.floor(lengths[-1] / config.sample_rate * 1e3) / 1e3
  return (f"use a duration between {low:g} and {high:g} s ({lengths[0]} to {lengths[-1]} "
          "samples)")


Records = collections.namedtuple("Records", ["items", "failures"])
Records.__doc__ = """A TFRecord file's items and its bad records: `(source, message)` pairs."""


def tfrecord_items(settings, path, folder, source=None):
  """One item per good record of a TFRecord file (feature --key, default 'spectrogram').

  Output names come from each record's `name` feature (or the file's stem and
  the record index) by `output_files`. A damaged record does not stop the
  file: it is returned as a failure and the records after it are read
  (`tfspecinv.io.iter_tfrecord`).

  Args:
    settings: `JobSettings`.
    path: The local .tfrecord file.
    folder: The output folder.
    source: The name of the file in messages (default `path`).

  Returns:
    `Records(items, failures)`: `Item`s (unchecked: see `check_array_item`),
    and `(source, message)` for each record that cannot be read.

  Raises:
    SpecInvError: the file does not exist.
  """
  from tfspecinv import io as io_lib  # pylint: disable=import-outside-toplevel
  source = source or path
  items, failures = [], []
  for entry in io_lib.iter_tfrecord(path, settings.key or "spectrogram"):
    record = f"{source}[{entry.index}]"
    if entry.error is None:
      items.append(Item(record, None, spectrogram=entry.spectrogram,
                        config=build_config(settings), name=entry.name))
    else:
      message = str(entry.error).replace(path, source) if path != source else str(entry.error)
      failures.append((record, message))
  files = output_files([(item.source, item.name) for item in items])
  for item in items:
    item.output = os.path.join(folder, files[item.source])
  return Records(items, failures)


def split_source(source):
  """`(file, record index)` of an item's source: `('m.tfrecord', 3)` or `('a.npy', None)`."""
  head, bracket, tail = source.rpartition("[")
  if bracket and head and tail.endswith("]") and tail[:-1].isdigit():
    return head, int(tail[:-1])
  return source, None


def source_order(source):
  """Sort key of sources: by file, then records by number (`[10]` after `[9]`)."""
  path, index = split_source(source)
  return path, -1 if index is None else index


def output_files(entries, extension=".wav"):
  """The job's output file names: one rule for the command line and the Beam pipeline.

  Each input's name (a TFRecord record's `name` feature, a file's stem) is
  made safe by `tfspecinv.names.safe_output_name`; without one, or with
  nothing of it left, the file's stem (`_NNNNN` added for a record) is used.
  Inputs are taken in `source_order`, and the first of equal names keeps it
  (`tfspecinv.names.output_names`), so the result does not depend on the
  order the entries arrive in.

  Args:
    entries: `(source, name or None)` pairs, sources distinct.
    extension: The outputs' extension.

  Returns:
    A dict source -> file name (no folder part).
  """
  from tfspecinv import names  # pylint: disable=import-outside-toplevel
  entries = sorted(entries, key=lambda entry: source_order(entry[0]))
  fallbacks = []
  for source, _ in entries:
    path, index = split_source(source)
    stem = os.path.splitext(os.path.basename(path.rstrip("/")))[0]
    fallbacks.append(stem if index is None else f"{stem}_{index:05d}")
  files = names.output_names([name for _, name in entries], fallbacks, extension)
  return {source: file_name for (source, _), file_name in zip(entries, files)}


def effective_length(settings, item):
  """The output length the item is reconstructed to: --length, else its own (or None)."""
  return settings.length if settings.length is not None else item.length


def group_key(settings, item):
  """Items with equal keys are reconstructed in one batch (the CLI's and Beam's rule).

  The key holds everything `reconstruct` takes from the batch's first item:
  the spectrogram's shape, the config and the output length, so every item
  keeps its own length and config.
  """
  return (item.spectrogram.shape, item.config, effective_length(settings, item))


def group_items(settings, items):
  """Batches of at most --batch_size items of one `group_key`, in order of first appearance."""
  buckets = {}
  for item in items:
    buckets.setdefault(group_key(settings, item), []).append(item)
  size = max(1, settings.batch_size)
  return [bucket[start:start + size] for bucket in buckets.values()
          for start in range(0, len(bucket), size)]


def block_frames(settings, item):
  """Block size for long-audio mode, or 0 to reconstruct the item in one piece."""
  if settings.block_frames is not None:
    return settings.block_frames
  axis = -1 if item.config.layout == "bins_frames" else -2
  return _AUTO_BLOCK_FRAMES if item.spectrogram.shape[axis] > _AUTO_LONG_FRAMES else 0


# --------------------------------------------------------------- the work
def reconstruct_items(settings, items, progress=None):
  """Reconstruct equal-shaped items of one config and length in one batch.

  Args:
    settings: `JobSettings`.
    items: `Item`s of one `group_key` (see `group_items`).
    progress: Optional `reconstruct` progress callback.

  Returns:
    (waveforms `[len(items), samples]`, the `ReconstructionResult`).

  Raises:
    ValueError: items of different `group_key`s (a caller's mistake).
  """
  import numpy as np  # pylint: disable=import-outside-toplevel
  import tfspecinv  # pylint: disable=import-outside-toplevel
  if len({group_key(settings, item) for item in items}) != 1:
    raise ValueError("reconstruct_items: the items differ in shape, config or length; batch "
                     "them with jobs.group_items.")
  batch = np.stack([item.spectrogram for item in items])
  length = effective_length(settings, items[0])
  return tfspecinv.reconstruct(
      batch, items[0].config, method=settings.method, gl_iters=settings.gl_iters,
      lbfgs_iters=settings.lbfgs_iters, time_budget=settings.time_budget, seed=settings.seed,
      init=settings.init, length=length, progress=progress, jit_compile=settings.jit)


def encode_audio(path, samples, sample_rate, subtype):
  """The bytes of an audio file (format from `path`'s extension), as `io.write_audio` writes.

  `samples` are `[n]` (mono) or `[channels, n]`.

  Raises:
    SpecInvError: an unsupported extension or subtype.
  """
  import numpy as np  # pylint: disable=import-outside-toplevel
  import soundfile  # pylint: disable=import-outside-toplevel
  from tfspecinv import io as io_lib  # pylint: disable=import-outside-toplevel
  ext = io_lib.check_audio_output(path, subtype)
  buffer = io.BytesIO()
  soundfile.write(buffer, io_lib.frames_last(np.asarray(samples, np.float32)), int(sample_rate),
                  subtype=subtype, format=ext[1:].upper())
  return buffer.getvalue()


def _store_local(settings):
  """A `store(path, data)` writing a local file atomically (never replacing without --overwrite)."""
  from tfspecinv import io as io_lib  # pylint: disable=import-outside-toplevel

  def store(path, data):
    with io_lib.atomic_path(path, settings.overwrite) as temporary:
      with open(temporary, "wb") as handle:
        handle.write(data)

  return store


def write_output(settings, item, waveform, store=None):
  """Apply --normalize, encode in --subtype (or the item's format), store the file, read it back.

  One gain applies to every channel, so their level ratios are kept.

  Args:
    settings: `JobSettings`.
    item: The `Item` (its `output` is the destination).
    waveform: Float array `[samples]`, or `[channels, samples]`.
    store: `store(path, data)` that writes the bytes (default: an atomic local file).

  Returns:
    (the samples as written, float64, shaped as `waveform`; the gain; the peak before it).

  Raises:
    SpecInvError: an existing output (without --overwrite) or a bad destination.
  """
  import soundfile  # pylint: disable=import-outside-toplevel
  settings = item_settings(settings, item)
  samples, gain, peak = levels(settings, waveform, item.config, item.level_unknown)
  data = encode_audio(item.output, samples, item.config.sample_rate, settings.subtype)
  (store or _store_local(settings))(item.output, data)
  written, _ = soundfile.read(io.BytesIO(data), dtype="float64", always_2d=False)
  return (written.T if written.ndim == 2 else written), gain, peak


def measure(item, written, result, index, gain=1.0):
  """Fit of the file as written: spectral convergence (beside the engine's) and LSD.

  Args:
    item: The `Item`.
    written: The samples read back from the output file, after normalisation
      and quantisation, `[samples]` or `[channels, samples]`.
    result: The batch's `ReconstructionResult`.
    index: The item's index in the batch.
    gain: The gain --normalize applied; undone for an input whose level is
      unknown (a picture), whose fit cannot depend on the level chosen.

  Returns:
    A dict: spectral_convergence_db, engine_spectral_convergence_db and,
    where a linear target is known, log_spectral_distance_db. For several
    channels these are the worst channel's, and 'per_channel' holds each
    channel's dict, in order.
  """
  import numpy as np  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from tfspecinv import losses, pipeline, scaling, transforms  # pylint: disable=import-outside-toplevel
  config = item.config
  if item.level_unknown and gain:
    written = written / gain
  linear = config if config.representation != "mfcc" else config.replace(representation="mel")
  target = item.spectrogram
  if config.representation == "mfcc":
    target = transforms.forward(tf.constant(item.reference_audio), linear).numpy() \
        if item.reference_audio is not None else None
  estimate = transforms.forward(tf.constant(written, tf.float32), linear).numpy()
  engine = np.asarray(result.spectral_convergence_db, np.float64)
  engine = engine.reshape(-1, *item.spectrogram.shape[:-2])[index]  # [] or [channels]
  quality = {
      "spectral_convergence_db": np.asarray(pipeline.fit_db(written, item.spectrogram, config),
                                            np.float64),
      "engine_spectral_convergence_db": engine,
  }
  if target is not None:
    lin = lambda v: scaling.unscale_amplitude(tf.constant(v, tf.float32), linear)
    lsd = losses.log_spectral_distance(lin(estimate), lin(target), power=config.power)
    quality["log_spectral_distance_db"] = np.asarray(lsd.numpy(), np.float64)
  if item.spectrogram.ndim == 2:
    return {name: float(value) for name, value in quality.items()}
  per_channel = [{name: float(value[channel]) for name, value in quality.items()}
                 for channel in range(item.spectrogram.shape[0])]
  worst = {name: float(np.max(value)) for name, value in quality.items()}
  return {**worst, "per_channel": per_channel}


# A written file that fits its spectrogram this much worse than the engine's
# result (dB), or this badly at all, gets a warning with the likely cause.
_FIT_LOSS_DB = 1.0
_POOR_FIT_DB = -10.0


def warn_about_fit(settings, item, quality, gain, peak):
  """One warning line on stderr when the written file fits badly, naming the likely cause."""
  settings = item_settings(settings, item)
  written = quality["spectral_convergence_db"]
  engine = quality["engine_spectral_convergence_db"]
  if written <= engine + _FIT_LOSS_DB and written <= _POOR_FIT_DB:
    return
  level_known = not (item.level_unknown or (item.config.scale == "db" and
                                             item.config.ref == "max"))
  subtype = settings.subtype
  if written > engine + _FIT_LOSS_DB:
    if gain != 1.0 and level_known:
      cause = (f"the file was scaled by {gain:.3g} (--normalize={settings.normalize}), so its "
               "level no longer matches the spectrogram's; --subtype=FLOAT --normalize=none "
               "keeps it")
    elif peak * gain > 1.0 and subtype != "FLOAT":
      cause = f"samples clipped at 1 in {subtype}; use --normalize=auto or --subtype=FLOAT"
    elif subtype == "PCM_16":
      cause = (f"16-bit quantisation of a quiet signal (peak {peak * gain:.3g}); use "
               "--subtype=PCM_24 or FLOAT")
    else:
      cause = "writing the file changed it; try --subtype=FLOAT --normalize=none"
    message = (f"the written file fits its spectrogram at {written:.1f} dB against the engine's "
               f"{engine:.1f} dB: {cause}")
  else:
    message = (f"the reconstruction fits its spectrogram only at {written:.1f} dB: the settings "
               "may not be how it was made (check --convention, --sample_rate, --n_fft, "
               "--hop_length, --power, --scale, --layout)")
  print(f"warning: {item.output}: {message}.", file=sys.stderr)


# Compilation longer than this share of --time_budget (outside it) gets a warning.
_COMPILE_WARN_SHARE = 0.5


def warn_about_budget(settings, result):
  """One warning line on stderr when compiling took more than half of --time_budget beside it.

  Args:
    settings: `JobSettings`.
    result: The `ReconstructionResult` (its `stage_seconds['compile']` and 'prepare').
  """
  stages = result.stage_seconds or {}
  if settings.time_budget is None or "compile" not in stages:
    return
  compiled = stages["compile"] + stages.get("prepare", 0.0)  # What the budget did not count.
  if compiled <= _COMPILE_WARN_SHARE * settings.time_budget:
    return
  print(f"warning: --time_budget={settings.time_budget:g}: tracing and compiling for this "
        f"input's shape took another {compiled:.1f}s (this process's first call for the shape; "
        f"the budget counts iterations only), {result.seconds:.1f}s in all; a folder of "
        "equal-shaped inputs pays it once.", file=sys.stderr)


_TENSORFLOW_READY = False


def import_tensorflow_quietly(verbosity=0):
  """Import TensorFlow/TFP and start the runtime with native stderr muted.

  Their C++ start-up lines (CUDA probing, CPU features) are written before
  TF_CPP_MIN_LOG_LEVEL applies; a command line should print only its own.

  Args:
    verbosity: absl --verbosity; from 1 on, nothing is muted.
  """
  global _TENSORFLOW_READY  # pylint: disable=global-statement
  if _TENSORFLOW_READY:
    return
  _TENSORFLOW_READY = True
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
  # The jobs never use Keras 3, but TensorFlow imports it eagerly (and
  # scikit-learn through its wrappers, where installed) unless told to use
  # tf-keras, which TFP imports anyway: about 2 s less start-up.
  os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
  from tfspecinv import xla_cache  # pylint: disable=import-outside-toplevel
  xla_cache.enable()  # Opt-in (TFSPECINV_XLA_CACHE), before TensorFlow reads the XLA flags.
  if verbosity >= 1:
    import tensorflow_probability  # pylint: disable=import-outside-toplevel,unused-import
    return
  sys.stderr.flush()
  saved = os.dup(2)
  try:
    with open(os.devnull, "w") as null:
      os.dup2(null.fileno(), 2)
      import tensorflow as tf  # pylint: disable=import-outside-toplevel
      import tensorflow_probability  # pylint: disable=import-outside-toplevel,unused-import
      tf.constant(0.0).numpy()  # Device discovery logs too.
  finally:
    os.dup2(saved, 2)
    os.close(saved)

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

import dataclasses
import io
import math
import os
import sys

from absl import flags

from tfspecinv import conventions

__all__ = ["JobSettings", "Item", "UsageError", "build_config", "load_item", "tfrecord_items",
           "check_array_item", "group_items", "reconstruct_items", "levels", "gain_for",
           "write_output", "encode_audio", "measure", "warn_about_fit", "block_frames",
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
flags.DEFINE_enum("subtype", "PCM_16", ["PCM_16", "PCM_24", "FLOAT"], "Output sample format.")
flags.DEFINE_boolean("quiet", False, "No progress output.")

# Spectrogram pictures (.png/.jpg).
flags.DEFINE_string("db_range", None, "For pictures: the dB values of the darkest and brightest "
                    "colours, LOW,HIGH (e.g. -80,0 for amplitude_to_db(ref=np.max)).")
flags.DEFINE_string("colormap", "gray", "For pictures: 'gray' or the matplotlib colormap used.")
flags.DEFINE_enum("origin", "lower", ["lower", "upper"], "For pictures: where the low "
                  "frequencies are ('lower' = bottom, as specshow draws them).")
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
flags.DEFINE_float("time_budget", None, "Seconds allowed per reconstruction.", lower_bound=0.0)
flags.DEFINE_enum("init", "auto", ["auto", "pghi", "random", "zeros", "pghi+zeros"],
                  "Initial phase of Griffin-Lim: phase-gradient heuristic integration (pghi), "
                  "random, zeros, or pghi+zeros (both, keeping the better fit after 500 "
                  "iterations); auto is pghi+zeros for linear magnitudes, pghi for mel and "
                  "MFCC, random for --window=ones.")
flags.DEFINE_integer("seed", 0, "Seed of the random initial phase.")
flags.DEFINE_boolean("jit", None, "Run L-BFGS as one XLA loop (--jit) or in TensorFlow's "
                     "executor (--nojit). Default: XLA from 100 iterations, as in the defaults.")
flags.DEFINE_integer("batch_size", 1, "Equal-shaped inputs of a folder reconstructed together.",
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
                 "mel_norm", "n_mfcc", "lifter", "layout", "representation")

# The job's flags other than the config fields, copied as they are.
_JOB_FLAGS = ("convention", "ref", "top_db", "key", "overwrite", "report", "plot", "normalize",
              "subtype", "quiet", "db_range", "colormap", "origin", "resize", "length", "duration",
              "method", "gl_iters", "lbfgs_iters", "time_budget", "init", "seed", "jit",
              "batch_size", "block_frames", "stream", "stream_chunk")


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
  stream: bool = False
  stream_chunk: int = 1
  verbosity: int = 0

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
    return cls(overrides=overrides, given=given, verbosity=verbosity, **values)


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
    UsageError: a bad --ref or --top_db.
    SpecInvError: --sample_rate disagrees with the audio file, or an invalid config.
  """
  overrides = dict(settings.overrides)
  ref, top_db = _parse_ref(settings.ref), _parse_top_db(settings.top_db)
  if ref is not None:
    overrides["ref"] = ref
  if top_db is not None:
    overrides["top_db"] = None if top_db == "none" else top_db
  if file_sample_rate is not None:
    if "sample_rate" in overrides and overrides["sample_rate"] != file_sample_rate:
      raise data_error(
          f"--sample_rate={overrides['sample_rate']} but the audio is {file_sample_rate} Hz; "
          "resampling is not built in: drop --sample_rate or resample the file first.")
    overrides["sample_rate"] = file_sample_rate
  if (overrides.get("representation") == "mfcc" and "scale" not in overrides and
      settings.convention in _LIBRARY_MFCC_SCALES):
    overrides["scale"] = _LIBRARY_MFCC_SCALES[settings.convention]
  return conventions.make(settings.convention, **overrides)


def data_error(message):
  """A `SpecInvError` (bad data; exit status 1) without importing TensorFlow."""
  from tfspecinv.errors import SpecInvError  # pylint: disable=import-outside-toplevel
  return SpecInvError(message)


# ------------------------------------------------------------------ levels
def levels(settings, waveform, config):
  """Apply --normalize.

  Args:
    settings: `JobSettings`.
    waveform: Float array `[samples]`.
    config: The item's `SpectrogramConfig`.

  Returns:
    (the samples to write, the gain, the peak before it).
  """
  import numpy as np  # pylint: disable=import-outside-toplevel
  peak = float(np.max(np.abs(waveform))) if waveform.size else 0.0
  gain = gain_for(settings, peak, config)
  return waveform * gain, gain, peak


def gain_for(settings, peak, config):
  """The --normalize gain for a waveform of this peak.

  'auto' scales down what would clip, and peak-normalises when the input's
  absolute gain was never stored (dB relative to the maximum).

  Args:
    settings: `JobSettings`.
    peak: The waveform's peak (>= 0).
    config: The item's `SpectrogramConfig`.

  Returns:
    The gain (float).
  """
  clips = settings.subtype != "FLOAT" and peak > 1.0
  gain_unknown = config.scale == "db" and config.ref == "max"
  normalize = settings.normalize
  if peak > 0 and (normalize == "peak" or (normalize == "auto" and gain_unknown)):
    if normalize == "auto":
      say(settings, "note: the input is dB relative to its maximum (absolute level unknown); "
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
    samples, sample_rate = io_lib.read_audio(path)
    item.config = build_config(settings, file_sample_rate=sample_rate)
    import_tensorflow_quietly(settings.verbosity)
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    from tfspecinv import transforms  # pylint: disable=import-outside-toplevel
    item.reference_audio = samples
    item.spectrogram = transforms.forward(tf.constant(samples), item.config).numpy()
    if settings.length is None:
      item.length = len(samples)
    _apply_duration(settings, item)
  else:
    item.config = build_config(settings)
    item.spectrogram = np.asarray(io_lib.read_array(path, settings.key))
    check_shape(path, item.spectrogram)
    _apply_duration(settings, item)
    try:
      validation.check_spectrogram(item.spectrogram, item.config)
    except SpecInvError as error:
      raise SpecInvError(f"{path}: {error}") from None
  return item


def check_shape(source, spectrogram):
  """Raise unless one 2-D spectrogram."""
  if spectrogram.ndim != 2:
    raise data_error(
        f"{source}: the array has shape {spectrogram.shape}; the command line takes one "
        "2-D spectrogram per file or record ([bins, frames], or [frames, bins] with "
        "--layout=frames_bins): save one array each or use the Python API for batches.")


def check_array_item(settings, item):
  """The checks of a TFRecord record's item: one 2-D array, --duration fits.

  Raises:
    SpecInvError: either check fails.
  """
  check_shape(item.source, item.spectrogram)
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


def _load_image(settings, item):
  """A spectrogram picture: dB values, config for dB relative to the maximum."""
  from tfspecinv import image  # pylint: disable=import-outside-toplevel
  db_range = _parse_db_range(settings)
  defaults = {}
  if "representation" not in settings.given:
    defaults["representation"] = "stft"
  if "power" not in settings.given:
    defaults["power"] = 1.0
  config = build_config(settings).replace(**defaults)
  item.config = image.image_config(config, db_range)
  item.length = requested_length(settings, item.config)
  if settings.resize and item.length is None:
    raise data_error(_unknown_width_message(item.source, item.config,
                                            image.picture_size(item.source)[1]))
  frames = None if item.length is None else item.config.num_frames(item.length)
  values, note = image.read_spectrogram_image(
      item.source, db_range, settings.colormap, settings.origin,
      (item.config.n_features, frames), settings.resize)
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
  frames = item.spectrogram.shape[1 if config.layout == "bins_frames" else 0]
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


def tfrecord_items(settings, path, folder, source=None):
  """One item per record of a TFRecord file (feature --key, default 'spectrogram').

  Args:
    settings: `JobSettings`.
    path: The local .tfrecord file.
    folder: The output folder.
    source: The name of the file in messages (default `path`).

  Returns:
    A list of `Item`s (unchecked: see `check_array_item`).

  Raises:
    SpecInvError: a corrupt file or record.
  """
  from tfspecinv import io as io_lib  # pylint: disable=import-outside-toplevel
  source = source or path
  stem = os.path.splitext(os.path.basename(source))[0]
  items = []
  records = io_lib.read_tfrecord(path, settings.key or "spectrogram")
  for index, (name, array) in enumerate(records):
    output = os.path.join(folder, (name or f"{stem}_{index:05d}") + ".wav")
    items.append(Item(f"{source}[{index}]", output, spectrogram=array,
                      config=build_config(settings)))
  return items


def group_key(item):
  """Items with equal keys can be reconstructed in one batch."""
  return (item.spectrogram.shape, item.config, item.length)


def group_items(settings, items):
  """Consecutive equal-shaped items of the same config, at most --batch_size each."""
  groups = []
  for item in items:
    last = groups[-1] if groups else None
    if (last and len(last) < settings.batch_size and last[0].config == item.config and
        last[0].spectrogram.shape == item.spectrogram.shape):
      last.append(item)
    else:
      groups.append([item])
  return groups


def block_frames(settings, item):
  """Block size for long-audio mode, or 0 to reconstruct the item in one piece."""
  if settings.block_frames is not None:
    return settings.block_frames
  axis = 1 if item.config.layout == "bins_frames" else 0
  return _AUTO_BLOCK_FRAMES if item.spectrogram.shape[axis] > _AUTO_LONG_FRAMES else 0


# --------------------------------------------------------------- the work
def reconstruct_items(settings, items, progress=None):
  """Reconstruct equal-shaped items of one config in one batch.

  Args:
    settings: `JobSettings`.
    items: `Item`s of one `group_key`.
    progress: Optional `reconstruct` progress callback.

  Returns:
    (waveforms `[len(items), samples]`, the `ReconstructionResult`).
  """
  import numpy as np  # pylint: disable=import-outside-toplevel
  import tfspecinv  # pylint: disable=import-outside-toplevel
  batch = np.stack([item.spectrogram for item in items])
  length = settings.length if settings.length is not None else items[0].length
  return tfspecinv.reconstruct(
      batch, items[0].config, method=settings.method, gl_iters=settings.gl_iters,
      lbfgs_iters=settings.lbfgs_iters, time_budget=settings.time_budget, seed=settings.seed,
      init=settings.init, length=length, progress=progress, jit_compile=settings.jit)


def encode_audio(path, samples, sample_rate, subtype):
  """The bytes of an audio file (format from `path`'s extension), as `io.write_audio` writes.

  Raises:
    SpecInvError: an unsupported extension or subtype.
  """
  import numpy as np  # pylint: disable=import-outside-toplevel
  import soundfile  # pylint: disable=import-outside-toplevel
  from tfspecinv import io as io_lib  # pylint: disable=import-outside-toplevel
  ext = io_lib.check_audio_output(path, subtype)
  buffer = io.BytesIO()
  soundfile.write(buffer, np.asarray(samples, np.float32), int(sample_rate), subtype=subtype,
                  format=ext[1:].upper())
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
  """Apply --normalize, encode in --subtype, store the file and read it back.

  Args:
    settings: `JobSettings`.
    item: The `Item` (its `output` is the destination).
    waveform: Float array `[samples]`.
    store: `store(path, data)` that writes the bytes (default: an atomic local file).

  Returns:
    (the samples as written, float64; the gain; the peak before it).

  Raises:
    SpecInvError: an existing output (without --overwrite) or a bad destination.
  """
  import soundfile  # pylint: disable=import-outside-toplevel
  samples, gain, peak = levels(settings, waveform, item.config)
  data = encode_audio(item.output, samples, item.config.sample_rate, settings.subtype)
  (store or _store_local(settings))(item.output, data)
  written, _ = soundfile.read(io.BytesIO(data), dtype="float64", always_2d=False)
  return written, gain, peak


def measure(item, written, result, index):
  """Fit of the file as written: spectral convergence (beside the engine's) and LSD.

  Args:
    item: The `Item`.
    written: The samples read back from the output file, after normalisation
      and quantisation.
    result: The batch's `ReconstructionResult`.
    index: The item's index in the batch.

  Returns:
    A dict: spectral_convergence_db, engine_spectral_convergence_db and,
    where a linear target is known, log_spectral_distance_db.
  """
  import numpy as np  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from tfspecinv import losses, pipeline, scaling, transforms  # pylint: disable=import-outside-toplevel
  config = item.config
  linear = config if config.representation != "mfcc" else config.replace(representation="mel")
  target = item.spectrogram
  if config.representation == "mfcc":
    target = transforms.forward(tf.constant(item.reference_audio), linear).numpy() \
        if item.reference_audio is not None else None
  estimate = transforms.forward(tf.constant(written, tf.float32), linear).numpy()
  quality = {
      "spectral_convergence_db": float(pipeline.fit_db(written, item.spectrogram, config)),
      "engine_spectral_convergence_db": float(np.ravel(result.spectral_convergence_db)[index]),
  }
  if target is not None:
    lin = lambda v: scaling.unscale_amplitude(tf.constant(v, tf.float32), linear)
    lsd = losses.log_spectral_distance(lin(estimate), lin(target), power=config.power)
    quality["log_spectral_distance_db"] = float(lsd.numpy())
  return quality


# A written file that fits its spectrogram this much worse than the engine's
# result (dB), or this badly at all, gets a warning with the likely cause.
_FIT_LOSS_DB = 1.0
_POOR_FIT_DB = -10.0


def warn_about_fit(settings, item, quality, gain, peak):
  """One warning line on stderr when the written file fits badly, naming the likely cause."""
  written = quality["spectral_convergence_db"]
  engine = quality["engine_spectral_convergence_db"]
  if written <= engine + _FIT_LOSS_DB and written <= _POOR_FIT_DB:
    return
  level_known = not (item.config.scale == "db" and item.config.ref == "max")
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

r"""tfspecinv command line: spectrograms (or a wav, as a demo) back to audio.

Round trip a wav (compute the representation, drop the phase, reconstruct):

  python main.py --input=samples/speech_female_ljspeech.wav --output=out.wav

Invert a librosa mel spectrogram saved with np.save (shape [80, frames]):

  python main.py --input=M.npy --output=O.wav --convention=librosa \
    --representation=mel --sample_rate=22050 --n_fft=1024 --hop_length=256 \
    --n_mels=80 --fmax=8000 --power=2

Invert every .npy/.npz/.wav in a folder into another folder:

  python main.py --input=mels/ --output=wavs/ --representation=mel --n_mels=80

`--convention` picks the library whose defaults made the input (librosa,
torchaudio, tf_signal); every config flag overrides one field. Exit status:
0 success, 1 bad data or failed files, 2 usage error, 130 interrupted (the
best result so far is written).
"""

import dataclasses
import json
import math
import os
import sys
import time

from absl import app
from absl import flags

# TensorFlow's C++ start-up chatter (CPU features, missing CUDA) is noise on a
# command line; --verbosity=1 brings errors back through Python.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__all__ = ["main", "console_entry_point"]

FLAGS = flags.FLAGS

# Input and output.
flags.DEFINE_string("input", None, "Input: a .wav/.flac/.ogg (round trip), a .npy/.npz "
                    "spectrogram, a .png/.jpg picture, a folder of them, or a .tfrecord file "
                    "of spectrograms.")
flags.DEFINE_string("output", None, "Output .wav (or a folder when --input is a folder or a "
                    "TFRecord file).")
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
flags.DEFINE_boolean("resize", False, "For pictures: resample to the expected bins (and the "
                     "frames of --length) instead of failing on a size mismatch.")

# Representation (every field of SpectrogramConfig; unset means the convention's default).
flags.DEFINE_enum("convention", "librosa", ["librosa", "torchaudio", "tf_signal"],
                  "Library whose defaults made the input.")
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

# Engine.
flags.DEFINE_enum("method", "lbfgs", ["lbfgs", "joint", "griffin_lim"],
                  "Griffin-Lim then L-BFGS on the waveform (lbfgs), on the STFT (joint), or "
                  "Griffin-Lim only.")
flags.DEFINE_integer("gl_iters", 32, "Griffin-Lim iterations.", lower_bound=0)
flags.DEFINE_integer("lbfgs_iters", 200, "L-BFGS iterations.", lower_bound=0)
flags.DEFINE_float("time_budget", None, "Seconds allowed per reconstruction.", lower_bound=0.0)
flags.DEFINE_enum("init", "auto", ["auto", "pghi", "random", "zeros"],
                  "Initial phase of Griffin-Lim: phase-gradient heuristic integration (pghi), "
                  "random or zeros; auto is pghi unless --window=ones.")
flags.DEFINE_integer("seed", 0, "Seed of the random initial phase.")
flags.DEFINE_boolean("jit", False, "Compile the L-BFGS loop with XLA.")
flags.DEFINE_integer("batch_size", 1, "Equal-shaped inputs of a folder reconstructed together.",
                     lower_bound=1)
flags.DEFINE_integer("block_frames", None, "Long audio: reconstruct in overlapping blocks of "
                     "this many frames, streaming to the output in bounded memory. Default: "
                     f"blocks of 2048 for inputs over {4 * 2048} frames; 0 never.", lower_bound=0)

_AUTO_BLOCK_FRAMES = 2048
_AUTO_LONG_FRAMES = 4 * _AUTO_BLOCK_FRAMES

_CONFIG_FLAGS = ("power", "scale", "amin", "sample_rate", "n_fft", "hop_length", "win_length",
                 "window", "center", "pad_mode", "n_mels", "fmin", "fmax", "mel_scale",
                 "mel_norm", "n_mfcc", "lifter", "layout", "representation")

EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
  """A flag value that cannot work; exit status 2."""


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


def build_config(file_sample_rate=None):
  """The `SpectrogramConfig` the flags describe (preset + explicit overrides)."""
  from tfspecinv.config import SpectrogramConfig
  overrides = {name: FLAGS[name].value for name in _CONFIG_FLAGS
               if FLAGS[name].value is not None and
               (FLAGS[name].present or name == "representation")}
  ref, top_db = _parse_ref(FLAGS.ref), _parse_top_db(FLAGS.top_db)
  if ref is not None:
    overrides["ref"] = ref
  if top_db is not None:
    overrides["top_db"] = None if top_db == "none" else top_db
  if file_sample_rate is not None:
    if "sample_rate" in overrides and overrides["sample_rate"] != file_sample_rate:
      raise _data_error(
          f"--sample_rate={overrides['sample_rate']} but the audio is {file_sample_rate} Hz; "
          "resampling is not built in: drop --sample_rate or resample the file first.")
    overrides["sample_rate"] = file_sample_rate
  if overrides.get("representation") == "mfcc" and "scale" not in overrides:
    overrides["scale"] = "log" if FLAGS.convention == "tf_signal" else "db"
  preset = getattr(SpectrogramConfig, FLAGS.convention)
  return preset(**overrides)


def _data_error(message):
  from tfspecinv.errors import SpecInvError
  return SpecInvError(message)


# ---------------------------------------------------------------- progress
class ProgressPrinter:
  """One updating line on a terminal, a plain line every few seconds otherwise."""

  def __init__(self, stream=None, quiet=False, interval=2.0):
    self.stream = stream or sys.stderr
    self.quiet = quiet
    self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
    self.interval = interval
    self._last = -math.inf
    self._width = 0

  def __call__(self, progress):
    if self.quiet:
      return
    left = "?" if progress.remaining is None else f"{progress.remaining:.1f}s"
    text = (f"{progress.stage} {progress.iteration}/{progress.total}  loss {progress.loss:.4g}"
            f"  elapsed {progress.elapsed:.1f}s  left ~{left}")
    if self.tty:
      self.stream.write("\r" + text.ljust(self._width))
      self._width = len(text)
      self.stream.flush()
    elif progress.elapsed - self._last >= self.interval or progress.iteration == progress.total:
      self._last = progress.elapsed
      self.stream.write(text + "\n")
      self.stream.flush()

  def done(self):
    if self.tty and not self.quiet and self._width:
      self.stream.write("\n")
      self.stream.flush()
    self._width = 0


def _say(text):
  if not FLAGS.quiet:
    print(text, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ levels
def _levels(waveform, config):
  """Apply --normalize; returns the samples to write."""
  import numpy as np
  peak = float(np.max(np.abs(waveform))) if waveform.size else 0.0
  return waveform * _gain(peak, config)


def _gain(peak, config):
  """The --normalize gain for a waveform of this peak.

  'auto' scales down what would clip, and peak-normalises when the input's
  absolute gain was never stored (dB relative to the maximum).
  """
  clips = FLAGS.subtype != "FLOAT" and peak > 1.0
  gain_unknown = config.scale == "db" and config.ref == "max"
  if peak > 0 and (FLAGS.normalize == "peak" or (FLAGS.normalize == "auto" and gain_unknown)):
    if FLAGS.normalize == "auto":
      _say("note: the input is dB relative to its maximum (absolute level unknown); "
           "output peak-normalised to 0.99 (--normalize=none to keep the raw level).")
    return 0.99 / peak
  if clips and FLAGS.normalize == "auto":
    print(f"warning: peak {peak:.3g} would clip in {FLAGS.subtype}; scaled to 0.99 "
          "(--normalize=none to keep the level, --subtype=FLOAT to store it).", file=sys.stderr)
    return 0.99 / peak
  if clips:
    print(f"warning: peak {peak:.3g} > 1 clips in {FLAGS.subtype} "
          "(use --normalize=auto/peak or --subtype=FLOAT).", file=sys.stderr)
  return 1.0


# ------------------------------------------------------------------- items
@dataclasses.dataclass
class _Item:
  source: str
  output: str
  spectrogram: object = None
  config: object = None
  reference_audio: object = None
  length: object = None


def _load_item(path, output):
  """Read one input: a representation (array) or audio to round-trip.

  Arrays are checked with NumPy alone, so a bad file fails before TensorFlow loads.
  """
  import numpy as np
  from tfspecinv import io as io_lib
  from tfspecinv import validation
  from tfspecinv.errors import SpecInvError
  item = _Item(path, output)
  kind = io_lib.input_kind(path)
  if kind == "image":
    _import_tensorflow_quietly()
    _load_image(item)
  elif kind == "audio":
    samples, sample_rate = io_lib.read_audio(path)
    item.config = build_config(file_sample_rate=sample_rate)
    _import_tensorflow_quietly()
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    from tfspecinv import transforms  # pylint: disable=import-outside-toplevel
    item.reference_audio = samples
    item.spectrogram = transforms.forward(tf.constant(samples), item.config).numpy()
    if FLAGS.length is None:
      item.length = len(samples)
  else:
    item.config = build_config()
    item.spectrogram = np.asarray(io_lib.read_array(path, FLAGS.key))
    _check_shape(path, item.spectrogram)
    try:
      validation.check_spectrogram(item.spectrogram, item.config)
    except SpecInvError as error:
      raise SpecInvError(f"{path}: {error}") from None
  return item


def _check_shape(source, spectrogram):
  if spectrogram.ndim != 2:
    raise _data_error(
        f"{source}: the array has shape {spectrogram.shape}; the command line takes one "
        "2-D spectrogram per file or record ([bins, frames], or [frames, bins] with "
        "--layout=frames_bins): save one array each or use the Python API for batches.")


def _parse_db_range():
  if FLAGS.db_range is None:
    raise UsageError("pictures need --db_range=LOW,HIGH: the dB values of the darkest and "
                     "brightest colours (e.g. --db_range=-80,0).")
  try:
    low, high = (float(v) for v in FLAGS.db_range.split(","))
  except ValueError:
    raise UsageError(f"--db_range={FLAGS.db_range!r}: use two numbers, LOW,HIGH "
                     "(e.g. -80,0).") from None
  if not high > low:
    raise UsageError(f"--db_range={FLAGS.db_range!r}: HIGH must exceed LOW.")
  return low, high


def _load_image(item):
  """A spectrogram picture: dB values, config for dB relative to the maximum."""
  from tfspecinv import image  # pylint: disable=import-outside-toplevel
  db_range = _parse_db_range()
  defaults = {}
  if not FLAGS["representation"].present:
    defaults["representation"] = "stft"
  if not FLAGS["power"].present:
    defaults["power"] = 1.0
  config = build_config().replace(**defaults)
  item.config = image.image_config(config, db_range)
  frames = None if FLAGS.length is None else item.config.num_frames(FLAGS.length)
  values, note = image.read_spectrogram_image(
      item.source, db_range, FLAGS.colormap, FLAGS.origin, (item.config.n_features, frames),
      FLAGS.resize)
  if note:
    _say(f"{item.source}: {note}.")
  item.spectrogram = values if item.config.layout == "bins_frames" else values.T


def _plan_outputs(input_path, output_path):
  """(input file, output file) pairs; a folder maps to a folder."""
  from tfspecinv import io as io_lib
  if os.path.isdir(input_path):
    if os.path.exists(output_path) and not os.path.isdir(output_path):
      raise UsageError(f"--output={output_path} must be a folder when --input is a folder.")
    os.makedirs(output_path, exist_ok=True)
    names = sorted(n for n in os.listdir(input_path)
                   if os.path.splitext(n)[1].lower() in io_lib.AUDIO_EXTENSIONS +
                   io_lib.ARRAY_EXTENSIONS + io_lib.IMAGE_EXTENSIONS)
    if not names:
      raise _data_error(f"{input_path} holds no audio, .npy/.npz or picture files.")
    return [(os.path.join(input_path, n),
             os.path.join(output_path, os.path.splitext(n)[0] + ".wav")) for n in names], True
  if not os.path.exists(input_path):
    raise _data_error(f"{input_path}: no such file or folder.")
  if io_lib.input_kind(input_path) == "tfrecord":
    if os.path.exists(output_path) and not os.path.isdir(output_path):
      raise UsageError(f"--output={output_path} must be a folder when --input is a TFRecord "
                       "file (one wav per record).")
    os.makedirs(output_path, exist_ok=True)
    return [(input_path, output_path)], True
  return [(input_path, output_path)], False


def _tfrecord_items(path, folder):
  """One item per record of a TFRecord file (feature --key, default 'spectrogram')."""
  from tfspecinv import io as io_lib
  stem = os.path.splitext(os.path.basename(path))[0]
  items = []
  for index, (name, array) in enumerate(io_lib.read_tfrecord(path, FLAGS.key or "spectrogram")):
    output = os.path.join(folder, (name or f"{stem}_{index:05d}") + ".wav")
    item = _Item(f"{path}[{index}]", output, spectrogram=array, config=build_config())
    items.append(item)
  return items


# --------------------------------------------------------------- the work
def _reconstruct(items, printer):
  import numpy as np
  import tfspecinv
  batch = np.stack([item.spectrogram for item in items])
  length = FLAGS.length if FLAGS.length is not None else items[0].length
  waveforms, result = tfspecinv.reconstruct(
      batch, items[0].config, method=FLAGS.method, gl_iters=FLAGS.gl_iters,
      lbfgs_iters=FLAGS.lbfgs_iters, time_budget=FLAGS.time_budget, seed=FLAGS.seed,
      init=FLAGS.init, length=length, progress=printer, jit_compile=FLAGS.jit)
  printer.done()
  return waveforms, result


def _quality(item, waveform, result, index):
  """Spectral convergence (from the engine) and log-spectral distance of the representation."""
  import numpy as np
  import tensorflow as tf
  from tfspecinv import losses, scaling, transforms
  config = item.config
  linear = config if config.representation != "mfcc" else config.replace(representation="mel")
  target = item.spectrogram
  if config.representation == "mfcc":
    target = transforms.forward(tf.constant(item.reference_audio), linear).numpy() \
        if item.reference_audio is not None else None
  estimate = transforms.forward(tf.constant(waveform, tf.float32), linear).numpy()
  quality = {"spectral_convergence_db": float(np.ravel(result.spectral_convergence_db)[index])}
  if target is not None:
    lin = lambda v: scaling.unscale_amplitude(tf.constant(v, tf.float32), linear)
    lsd = losses.log_spectral_distance(lin(estimate), lin(target), power=config.power)
    quality["log_spectral_distance_db"] = float(lsd.numpy())
  return quality


def _write_outputs(item, waveform, result, quality):
  from tfspecinv import io as io_lib
  samples = _levels(waveform, item.config)
  io_lib.write_audio(item.output, samples, item.config.sample_rate, FLAGS.subtype,
                     FLAGS.overwrite)
  if FLAGS.report:
    report = {
        "input": item.source, "output": item.output,
        "config": dataclasses.asdict(item.config), "method": result.method,
        "init": result.init, "domain": result.domain, "stop_reason": result.stop_reason,
        "gl_iterations": result.gl_iterations, "lbfgs_iterations": result.lbfgs_iterations,
        "lbfgs_evaluations": result.lbfgs_evaluations, "seconds": result.seconds,
        "stage_seconds": result.stage_seconds,
        "loss_history": [{"stage": s, "iteration": i, "loss": l}
                         for s, i, l in result.loss_history],
        "quality": quality, "samples": int(len(waveform)),
    }
    _write_report(report)
  if FLAGS.plot:
    from tfspecinv import plotting
    with io_lib.atomic_path(FLAGS.plot, FLAGS.overwrite) as temporary:
      plotting.save_comparison(temporary, item.spectrogram, waveform, item.config, result)


def _write_report(report):
  from tfspecinv import io as io_lib
  with io_lib.atomic_path(FLAGS.report, FLAGS.overwrite) as temporary:
    with open(temporary, "w") as handle:
      json.dump(report, handle, indent=2)


def _check_plot_available():
  if FLAGS.plot:
    try:
      import matplotlib  # pylint: disable=unused-import,import-outside-toplevel
    except ImportError:
      raise UsageError("--plot needs matplotlib: pip install -e '.[plot]'.") from None


def _check_outputs_free(pairs, folder):
  from tfspecinv import io as io_lib
  for path in [FLAGS.report, FLAGS.plot]:
    if path:
      io_lib.check_output_path(path, FLAGS.overwrite)
  if len(pairs) == 1 and not folder:
    io_lib.check_output_path(pairs[0][1], FLAGS.overwrite)


def _group(items):
  """Consecutive equal-shaped items of the same config, at most --batch_size each."""
  groups = []
  for item in items:
    last = groups[-1] if groups else None
    if (last and len(last) < FLAGS.batch_size and last[0].config == item.config and
        last[0].spectrogram.shape == item.spectrogram.shape):
      last.append(item)
    else:
      groups.append([item])
  return groups


_TENSORFLOW_READY = False


def _import_tensorflow_quietly():
  """Import TensorFlow/TFP and start the runtime with native stderr muted.

  Their C++ start-up lines (CUDA probing, CPU features) are written before
  TF_CPP_MIN_LOG_LEVEL applies; a command line should print only its own.
  """
  global _TENSORFLOW_READY  # pylint: disable=global-statement
  if _TENSORFLOW_READY:
    return
  _TENSORFLOW_READY = True
  # The command line never uses Keras 3, but TensorFlow imports it eagerly
  # (and scikit-learn through its wrappers, where installed) unless told to
  # use tf-keras, which TFP imports anyway: about 2 s less start-up.
  os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
  if FLAGS.verbosity >= 1:
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


def run():
  """The whole job; returns the exit status."""
  if not FLAGS.input or not FLAGS.output:
    raise UsageError("--input and --output are required (e.g. --input=speech.wav "
                     "--output=out.wav).")
  _check_plot_available()
  output_existed = os.path.exists(FLAGS.output)
  try:
    return _run_all()
  finally:
    # A folder made for the outputs is removed again if nothing was written to it.
    if (not output_existed and os.path.isdir(FLAGS.output) and
        not os.listdir(FLAGS.output)):
      os.rmdir(FLAGS.output)


def _run_all():
  """Plan, load, reconstruct and write every input; returns the exit status."""
  from tfspecinv.errors import SpecInvError  # pylint: disable=import-outside-toplevel
  pairs, folder = _plan_outputs(FLAGS.input, FLAGS.output)
  if folder and (FLAGS.report or FLAGS.plot):
    raise UsageError("--report and --plot take a single input file, not a folder.")
  _check_outputs_free(pairs, folder)
  printer = ProgressPrinter(quiet=FLAGS.quiet)
  failures, items = [], []
  from tfspecinv import io as io_lib  # pylint: disable=import-outside-toplevel
  if io_lib.input_kind(pairs[0][0]) == "tfrecord" and not os.path.isdir(pairs[0][0]):
    _import_tensorflow_quietly()
    loaded, pairs = _tfrecord_items(*pairs[0]), []
  else:
    loaded = None
  for item in loaded or []:
    pairs.append((item.source, item.output))
    try:
      io_lib.check_output_path(item.output, FLAGS.overwrite)
      _check_shape(item.source, item.spectrogram)
      items.append(item)
    except SpecInvError as error:
      failures.append((item.source, str(error)))
  for source, output in pairs if loaded is None else []:
    try:
      if folder:
        io_lib.check_output_path(output, FLAGS.overwrite)
      items.append(_load_item(source, output))
    except SpecInvError as error:
      if not folder:
        raise
      failures.append((source, str(error)))
  for group in _group(items):
    try:
      status = _run_group(group, printer)
    except SpecInvError as error:
      if not folder:
        raise
      failures.extend((item.source, str(error)) for item in group)
      continue
    if status == EXIT_INTERRUPTED:
      return EXIT_INTERRUPTED
  if failures:
    print(f"{len(failures)} of {len(pairs)} inputs failed:", file=sys.stderr)
    for source, message in failures:
      print(f"  {source}: {message}", file=sys.stderr)
    return EXIT_DATA
  return EXIT_OK


def _block_frames(item):
  """Block size for long-audio mode, or 0 to reconstruct the item in one piece."""
  if FLAGS.block_frames is not None:
    return FLAGS.block_frames
  axis = 1 if item.config.layout == "bins_frames" else 0
  return _AUTO_BLOCK_FRAMES if item.spectrogram.shape[axis] > _AUTO_LONG_FRAMES else 0


def _run_long(item, block_frames, printer):
  """Long-audio mode: blocks streamed to the output file; returns the exit status."""
  from tfspecinv import io as io_lib
  from tfspecinv import longform
  if FLAGS.method == "joint" or FLAGS.plot or FLAGS.time_budget:
    raise _data_error(
        f"{item.source}: block mode (--block_frames={block_frames}) does not support "
        "--method=joint, --plot or --time_budget; drop them, or pass --block_frames=0 to "
        "reconstruct in one piece (memory grows with the input).")
  started = time.perf_counter()
  _say(f"{item.source}: long input, reconstructing in blocks of {block_frames} frames.")
  lbfgs_iters = 0 if FLAGS.method == "griffin_lim" else FLAGS.lbfgs_iters
  length = FLAGS.length if FLAGS.length is not None else item.length
  with io_lib.streamed_audio(item.output, item.config.sample_rate, FLAGS.subtype,
                             FLAGS.overwrite, lambda peak: _gain(peak, item.config)) as write:
    _, result = longform.reconstruct_long(
        item.spectrogram, item.config, sink=write, length=length, block_frames=block_frames,
        gl_iters=FLAGS.gl_iters, lbfgs_iters=lbfgs_iters, seed=FLAGS.seed, progress=printer)
  printer.done()
  if FLAGS.report:
    report = {"input": item.source, "output": item.output,
              "config": dataclasses.asdict(item.config), "method": FLAGS.method,
              "block_mode": True, **result._asdict()}
    _write_report(report)
  _say(f"{item.output}: {result.samples_written} samples at {item.config.sample_rate} Hz, "
       f"spectral_convergence_db {result.spectral_convergence_db:.2f}, {result.blocks_done}/"
       f"{result.blocks} blocks, {time.perf_counter() - started:.1f}s, stop: "
       f"{result.stop_reason})")
  return _exit_status(result, "the blocks finished so far")


def _run_group(group, printer):
  _import_tensorflow_quietly()
  long_items = [item for item in group if _block_frames(item)]
  if long_items:
    for item in group:  # Long inputs are never batched: each streams on its own.
      status = (_run_long(item, _block_frames(item), printer) if _block_frames(item) else
                _run_group([item], printer))
      if status == EXIT_INTERRUPTED:
        return status
    return EXIT_OK
  started = time.perf_counter()
  waveforms, result = _reconstruct(group, printer)
  for index, item in enumerate(group):
    waveform = waveforms[index]
    quality = _quality(item, waveform, result, index)
    _write_outputs(item, waveform, result, quality)
    figures = "  ".join(f"{k} {v:.2f}" for k, v in quality.items())
    _say(f"{item.output}: {len(waveform)} samples at {item.config.sample_rate} Hz, "
         f"{figures}, {result.method} ({result.gl_iterations} GL + {result.lbfgs_iterations} "
         f"L-BFGS iterations, {time.perf_counter() - started:.1f}s, stop: {result.stop_reason})")
  return _exit_status(result, "the best result so far")


def _exit_status(result, what):
  if result.stop_reason == "interrupted":
    print(f"interrupted: wrote {what}.", file=sys.stderr)
    return EXIT_INTERRUPTED
  return EXIT_OK


def main(argv):
  """absl entry point: runs the job and exits with its status."""
  if len(argv) > 1:
    _usage_exit(f"unexpected arguments {' '.join(argv[1:])!r}; every option is a --flag.")
  try:
    status = run()
  except UsageError as error:
    _usage_exit(str(error))
  except KeyboardInterrupt:
    print("interrupted before anything could be written.", file=sys.stderr)
    sys.exit(EXIT_INTERRUPTED)
  except Exception as error:  # pylint: disable=broad-except
    _data_exit(error)
  sys.exit(status)


def _data_exit(error):
  from tfspecinv.errors import SpecInvError
  if FLAGS.verbosity >= 1:
    raise error
  if isinstance(error, (SpecInvError, OSError)):
    print(f"error: {error}", file=sys.stderr)
  else:
    print(f"error: {type(error).__name__}: {error} (run with --verbosity=1 for details)",
          file=sys.stderr)
  sys.exit(EXIT_DATA)


def _usage_exit(message):
  print(f"usage error: {message}", file=sys.stderr)
  sys.exit(EXIT_USAGE)


def parse_flags(argv):
  """Parse flags; a bad flag or value is one line on stderr and exit status 2."""
  try:
    return FLAGS(argv)
  except flags.Error as error:
    _usage_exit(f"{error}. See --helpshort.")


def console_entry_point():
  """`python main.py` and the installed `tfspecinv` command."""
  app.run(main, flags_parser=parse_flags)

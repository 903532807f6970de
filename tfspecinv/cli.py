r"""tfspecinv command line: spectrograms (or a wav, as a demo) back to audio.

Round trip a wav (compute the representation, drop the phase, reconstruct):

  python main.py --input=samples/speech_female_ljspeech.wav --output=out.wav

Invert a librosa mel spectrogram saved with np.save (shape [80, frames]):

  python main.py --input=M.npy --output=O.wav --convention=librosa \
    --representation=mel --sample_rate=22050 --n_fft=1024 --hop_length=256 \
    --n_mels=80 --fmax=8000 --power=2

Invert every .npy/.npz/.wav in a folder into another folder:

  python main.py --input=mels/ --output=wavs/ --representation=mel --n_mels=80

A round trip keeps every channel (one batched engine call), the sample rate
and the sample format (unless --subtype); --mono downmixes. Whatever the
output changes from the input is said in one `note:` line and in --report.
An array [B, bins, frames] gives B wavs, OUT_00000.wav ...; with --channels,
[channels, bins, frames] is one multichannel wav.

Two positional arguments are --input and --output (`python main.py IN OUT`).
Installed (`pip install .`), the same program is `tfspecinv IN OUT` and
`python -m tfspecinv IN OUT`, from any folder; `--version` prints the version.
`--duration=SECONDS` (or `--length=SAMPLES`) says how long the audio was: a
picture needs it with `--resize`, which changes its time axis.

`--convention` picks the library or model whose conventions made the input
(librosa, torchaudio, tf_signal, hifigan, tacotron2, whisper, vocos, espnet, coqui,
keithito, rtvc);
every config flag overrides one field. Exit status:
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

from tfspecinv import jobs
from tfspecinv.jobs import UsageError

# TensorFlow's C++ start-up chatter (CPU features, missing CUDA) is noise on a
# command line; --verbosity=1 brings errors back through Python.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__all__ = ["main", "console_entry_point", "UsageError"]

# The flags are defined once, in tfspecinv.jobs (the Beam pipeline takes the same).
FLAGS = flags.FLAGS

flags.DEFINE_boolean("version", False, "Print the tfspecinv version and exit.")

EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


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
    total = "" if progress.total is None else f"/{progress.total}"
    text = (f"{progress.stage} {progress.iteration}{total}  loss {progress.loss:.4g}"
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


# ------------------------------------------------------------- extras
def _write_extras(settings, item, waveform, result, quality):
  """The --report JSON and the --plot PNG of one item."""
  from tfspecinv import io as io_lib  # pylint: disable=import-outside-toplevel
  if settings.report:
    report = {
        "input": item.source, "output": item.output,
        "config": dataclasses.asdict(item.config), "method": result.method,
        "init": result.init, "domain": result.domain, "stop_reason": result.stop_reason,
        "gl_iterations": result.gl_iterations, "lbfgs_iterations": result.lbfgs_iterations,
        "lbfgs_evaluations": result.lbfgs_evaluations, "seconds": result.seconds,
        "stage_seconds": result.stage_seconds,
        "loss_history": [{"stage": s, "iteration": i, "loss": l}
                         for s, i, l in result.loss_history],
        "quality": quality, "samples": int(waveform.shape[-1]), **_format_fields(settings, item),
    }
    _write_report(settings, report)
  if settings.plot:
    from tfspecinv import plotting  # pylint: disable=import-outside-toplevel
    spectrogram = item.spectrogram
    if spectrogram.ndim == 3:
      jobs.say(settings, f"{settings.plot}: shows the first of {spectrogram.shape[0]} channels.")
      spectrogram, waveform = spectrogram[0], waveform[0]
    with io_lib.atomic_path(settings.plot, settings.overwrite) as temporary:
      plotting.save_comparison(temporary, spectrogram, waveform, item.config, result)


def _format_fields(settings, item):
  """The report's channels, sample format and what the output changes from the input."""
  return {"channels": int(item.spectrogram.shape[0]) if item.spectrogram.ndim == 3 else 1,
          "subtype": jobs.item_settings(settings, item).subtype,
          "changes": list(item.changes)}


def _say_changes(settings, item):
  """One line naming what the output changes from the input, if anything."""
  if item.changes:
    jobs.say(settings, f"note: {item.output}: {'; '.join(item.changes)}.")


def _channels_text(item):
  return f" x {item.spectrogram.shape[0]} channels" if item.spectrogram.ndim == 3 else ""


def _write_report(settings, report):
  from tfspecinv import io as io_lib  # pylint: disable=import-outside-toplevel
  with io_lib.atomic_path(settings.report, settings.overwrite) as temporary:
    with open(temporary, "w") as handle:
      json.dump(report, handle, indent=2)


def _check_plot_available(settings):
  if settings.plot:
    try:
      import matplotlib  # pylint: disable=unused-import,import-outside-toplevel
    except ImportError:
      raise UsageError("--plot needs matplotlib: pip install -e '.[plot]'.") from None


def _check_outputs_free(settings, pairs, folder):
  from tfspecinv import io as io_lib  # pylint: disable=import-outside-toplevel
  for path in [settings.report, settings.plot]:
    if path:
      io_lib.check_output_path(path, settings.overwrite)
  if len(pairs) == 1 and not folder:
    io_lib.check_output_path(pairs[0][1], settings.overwrite)


# ---------------------------------------------------------------- planning
def _plan_outputs(input_path, output_path):
  """(input file, output file) pairs; a folder maps to a folder of safe, distinct names."""
  from tfspecinv import io as io_lib  # pylint: disable=import-outside-toplevel
  if os.path.isdir(input_path):
    if os.path.exists(output_path) and not os.path.isdir(output_path):
      raise UsageError(f"--output={output_path} must be a folder when --input is a folder.")
    os.makedirs(output_path, exist_ok=True)
    names = sorted(n for n in os.listdir(input_path)
                   if os.path.splitext(n)[1].lower() in io_lib.AUDIO_EXTENSIONS +
                   io_lib.ARRAY_EXTENSIONS + io_lib.IMAGE_EXTENSIONS)
    if not names:
      raise jobs.data_error(f"{input_path} holds no audio, .npy/.npz or picture files.")
    paths = [os.path.join(input_path, n) for n in names]  # a.npy, a.npz: a.wav, a-2.wav.
    files = jobs.output_files([(p, os.path.splitext(n)[0]) for p, n in zip(paths, names)])
    return [(p, os.path.join(output_path, files[p])) for p in paths], True
  if not os.path.exists(input_path):
    raise jobs.data_error(f"{input_path}: no such file or folder.")
  if io_lib.input_kind(input_path) == "tfrecord":
    if os.path.exists(output_path) and not os.path.isdir(output_path):
      raise UsageError(f"--output={output_path} must be a folder when --input is a TFRecord "
                       "file (one wav per record).")
    os.makedirs(output_path, exist_ok=True)
    return [(input_path, output_path)], True
  return [(input_path, output_path)], False


# --------------------------------------------------------------- the job
def run(settings=None):
  """The whole job; returns the exit status.

  Args:
    settings: `jobs.JobSettings` (default: from the parsed flags).

  Returns:
    The exit status.

  Raises:
    UsageError: missing --input/--output or flags that cannot work.
  """
  if not FLAGS.input or not FLAGS.output:
    raise UsageError("--input and --output are required (e.g. --input=speech.wav "
                     "--output=out.wav).")
  settings = settings or jobs.JobSettings.from_flags(FLAGS)
  _check_plot_available(settings)
  output_existed = os.path.exists(FLAGS.output)
  try:
    return _run_all(settings, FLAGS.input, FLAGS.output)
  finally:
    # A folder made for the outputs is removed again if nothing was written to it.
    if (not output_existed and os.path.isdir(FLAGS.output) and
        not os.listdir(FLAGS.output)):
      os.rmdir(FLAGS.output)


def _load_all(settings, pairs, folder, failures):
  """The items of every planned input; failures of a folder are collected, not raised."""
  from tfspecinv import io as io_lib  # pylint: disable=import-outside-toplevel
  from tfspecinv.errors import SpecInvError  # pylint: disable=import-outside-toplevel
  items = []
  if io_lib.input_kind(pairs[0][0]) == "tfrecord" and not os.path.isdir(pairs[0][0]):
    jobs.import_tensorflow_quietly(settings.verbosity)
    records = jobs.tfrecord_items(settings, *pairs[0])
    if not records.items and len(records.failures) == 1:  # Nothing readable: one error line.
      raise jobs.data_error(records.failures[0][1])
    failures.extend(records.failures)
    pairs[:] = ([(item.source, item.output) for item in records.items] +
                [(source, None) for source, _ in records.failures])
    for item in records.items:
      try:
        io_lib.check_output_path(item.output, settings.overwrite)
        jobs.check_array_item(settings, item)
        items.append(item)
      except SpecInvError as error:
        failures.append((item.source, str(error)))
    return items
  for source, output in pairs:
    try:
      if folder:
        io_lib.check_output_path(output, settings.overwrite)
      loaded = jobs.load_items(settings, source, output)
      for item in loaded:
        if item.output != output:  # Items of one array: OUT_00000.wav, ...
          io_lib.check_output_path(item.output, settings.overwrite)
        if folder:
          item.name = os.path.splitext(os.path.basename(
              source if item.output == output else item.output))[0]
      if len(loaded) > 1 and (settings.report or settings.plot):
        raise UsageError(f"{source} holds {len(loaded)} items; --report and --plot take a "
                         "single one (pass --channels if the leading axis is channels).")
      items.extend(loaded)
    except SpecInvError as error:
      if not folder:
        raise _naming(source, error) from None
      failures.append((source, str(error)))
  return items


def _run_all(settings, input_path, output_path):
  """Plan, load, reconstruct and write every input; returns the exit status."""
  from tfspecinv.errors import SpecInvError  # pylint: disable=import-outside-toplevel
  pairs, folder = _plan_outputs(input_path, output_path)
  if folder and (settings.report or settings.plot):
    raise UsageError("--report and --plot take a single input file, not a folder.")
  _check_outputs_free(settings, pairs, folder)
  printer = ProgressPrinter(quiet=settings.quiet)
  failures, written = [], []
  try:
    items = _load_all(settings, pairs, folder, failures)
    for group in jobs.group_items(settings, items):
      try:
        status = _run_group(settings, group, printer, written)
      except SpecInvError as error:
        if not folder:
          raise _naming(group[0].source, error) from None
        failures.extend((item.source, str(error)) for item in group)
        continue
      if status == EXIT_INTERRUPTED:
        return EXIT_INTERRUPTED
  finally:
    if folder and written:
      _write_manifest(output_path, written, failures)
  if failures:
    print(f"{len(failures)} of {len(pairs)} inputs failed:", file=sys.stderr)
    for source, message in failures:
      path = jobs.split_source(source)[0]  # "m.tfrecord[4]: record 4 ...", not the path twice.
      message = message[len(path) + 2:] if message.startswith(f"{path}: ") else message
      print(f"  {source}: {message}", file=sys.stderr)
    return EXIT_DATA
  return EXIT_OK


def _naming(source, error):
  """The error with its message starting with the input's name, if it does not name it."""
  from tfspecinv.errors import SpecInvError  # pylint: disable=import-outside-toplevel
  message = str(error)
  return error if source in message else SpecInvError(f"{source}: {message}")


MANIFEST = "manifest.jsonl"


def _write_manifest(folder, written, failures):
  """`manifest.jsonl` in the output folder: which input (and record name) became which file.

  One JSON line per input of this run, sorted by input: `input`, `name` (the
  input-derived name the file name was made from), `output`, `status`
  ('written' or 'failed'), and `duration_seconds` and `spectral_convergence_db`
  for a written file, `reason` for a failed one. It describes the last run and
  is replaced by the next.
  """
  import numpy as np  # pylint: disable=import-outside-toplevel
  from tfspecinv import io as io_lib  # pylint: disable=import-outside-toplevel
  rows = [dict(row, status="written") for row in written]
  rows += [{"input": source, "status": "failed", "reason": message}
           for source, message in failures]
  rows.sort(key=lambda row: jobs.source_order(row["input"]))
  path = os.path.join(folder, MANIFEST)  # Always replaced: the run's log, not an output.
  with io_lib.atomic_path(path, overwrite=True) as temporary:
    with open(temporary, "w") as handle:
      handle.writelines(json.dumps(row, sort_keys=True) + "\n" for row in rows)


def _manifest_row(item, samples, spectral_convergence_db):
  return {"input": item.source, "name": item.name, "output": item.output,
          "duration_seconds": samples / item.config.sample_rate,
          "spectral_convergence_db": spectral_convergence_db}


def _run_long(settings, item, block_frames, printer, written=None):
  """Long-audio mode: blocks streamed to the output file; returns the exit status.

  `written` (a list) gets the manifest row of the file written.
  """
  import numpy as np  # pylint: disable=import-outside-toplevel
  from tfspecinv import io as io_lib  # pylint: disable=import-outside-toplevel
  from tfspecinv import longform  # pylint: disable=import-outside-toplevel
  if settings.method == "joint" or settings.plot or settings.time_budget:
    raise jobs.data_error(
        f"{item.source}: block mode (--block_frames={block_frames}) does not support "
        "--method=joint, --plot or --time_budget; drop them, or pass --block_frames=0 to "
        "reconstruct in one piece (memory grows with the input).")
  started = time.perf_counter()
  jobs.say(settings, f"{item.source}: long input, reconstructing in blocks of {block_frames} "
           "frames.")
  length = settings.length if settings.length is not None else item.length
  settings = jobs.item_settings(settings, item)
  channels = item.spectrogram.shape[0] if item.spectrogram.ndim == 3 else 1
  applied = []
  gain_for_peak = lambda peak: applied.append(jobs.gain_for(
      settings, peak, item.config, item.level_unknown)) or applied[-1]
  with io_lib.streamed_audio(item.output, item.config.sample_rate, settings.subtype,
                             settings.overwrite, gain_for_peak, channels=channels) as write:
    _, result = longform.reconstruct_long(
        item.spectrogram, item.config, sink=write, length=length, block_frames=block_frames,
        method=settings.method, gl_iters=settings.gl_iters, lbfgs_iters=settings.lbfgs_iters,
        seed=settings.seed, progress=printer)
  printer.done()
  if written is not None and result.samples_written:
    written.append(_manifest_row(item, result.samples_written,
                                 float(np.max(result.spectral_convergence_db))))
  if settings.report:
    report = {"input": item.source, "output": item.output,
              "config": dataclasses.asdict(item.config), "method": settings.method,
              "block_mode": True, **result._asdict(), **_format_fields(settings, item)}
    if channels > 1:
      report["spectral_convergence_db"] = [float(v) for v in result.spectral_convergence_db]
    _write_report(settings, report)
  fit = " / ".join(f"{v:.2f}" for v in np.ravel(result.spectral_convergence_db))
  jobs.say(settings, f"{item.output}: {result.samples_written} samples{_channels_text(item)} at "
           f"{item.config.sample_rate} Hz, spectral_convergence_db "
           f"{fit}, {result.blocks_done}/{result.blocks} blocks, "
           f"{time.perf_counter() - started:.1f}s, stop: {result.stop_reason})")
  _say_changes(settings, item)
  level_known = not (item.config.scale == "db" and item.config.ref == "max")
  if applied and applied[-1] != 1.0 and level_known:
    print(f"warning: {item.output}: the file was scaled by {applied[-1]:.3g} "
          f"(--normalize={settings.normalize}), so its level no longer matches the "
          "spectrogram's and it fits worse than the figure above; --subtype=FLOAT "
          "--normalize=none keeps it.", file=sys.stderr)
  return _exit_status(result, "the blocks finished so far")


def _run_group(settings, group, printer, written=None):
  """Reconstruct one group (one batch, or long items one by one); returns the exit status.

  `written` (a list) gets a manifest row per file written.
  """
  jobs.import_tensorflow_quietly(settings.verbosity)
  if settings.stream:
    for item in group:
      status = _run_stream(settings, item, written)
      if status == EXIT_INTERRUPTED:
        return status
    return EXIT_OK
  if any(jobs.block_frames(settings, item) for item in group):
    for item in group:  # Long inputs are never batched: each streams on its own.
      frames = jobs.block_frames(settings, item)
      status = (_run_long(settings, item, frames, printer, written) if frames else
                _run_group(settings, [item], printer, written))
      if status == EXIT_INTERRUPTED:
        return status
    return EXIT_OK
  started = time.perf_counter()
  waveforms, result = jobs.reconstruct_items(settings, group, printer)
  printer.done()
  jobs.warn_about_budget(settings, result)
  for index, item in enumerate(group):
    waveform = waveforms[index]
    samples, gain, peak = jobs.write_output(settings, item, waveform)
    quality = jobs.measure(item, samples, result, index, gain)
    if written is not None:
      written.append(_manifest_row(item, samples.shape[-1], quality["spectral_convergence_db"]))
    jobs.warn_about_fit(settings, item, quality, gain, peak)
    _write_extras(settings, item, waveform, result, quality)
    figures = "  ".join(f"{k} {_figure(quality, k)}" for k in quality if k != "per_channel")
    jobs.say(settings, f"{item.output}: {waveform.shape[-1]} samples{_channels_text(item)} at "
             f"{item.config.sample_rate} Hz, {figures}, {result.method} "
             f"({result.gl_iterations} GL + {result.lbfgs_iterations} L-BFGS iterations, "
             f"{time.perf_counter() - started:.1f}s, stop: {result.stop_reason})")
    _say_changes(settings, item)
  return _exit_status(result, "the best result so far")


def _figure(quality, name):
  """A quality figure for the report line: per channel ('a / b') when there are several."""
  if "per_channel" in quality:
    return " / ".join(f"{c[name]:.2f}" for c in quality["per_channel"])
  return f"{quality[name]:.2f}"


def _run_stream(settings, item, written=None):
  """--stream: push the item's frames through `StreamingInverter`; returns the exit status.

  `written` (a list) gets the manifest row of the file written.

  Ctrl-C stops pushing, flushes and writes what was produced (exit status 130).
  """
  import numpy as np  # pylint: disable=import-outside-toplevel
  from tfspecinv import streaming  # pylint: disable=import-outside-toplevel
  if settings.method != "auto" or settings.time_budget or settings.plot:
    raise jobs.data_error(f"{item.source}: --stream runs its own engine; drop --method, "
                          "--time_budget and --plot.")
  if item.spectrogram.ndim != 2:
    raise jobs.data_error(f"{item.source}: --stream inverts one channel; pass --mono for a "
                          "downmix, or drop --stream.")
  config = item.config
  frames = np.asarray(item.spectrogram, np.float32)
  axis = 1 if config.layout == "bins_frames" else 0
  inverter = streaming.StreamingInverter(config, seed=settings.seed)
  inverter.push(np.take(frames, [0], axis=axis))  # Compile outside the timed run.
  inverter = streaming.StreamingInverter(config, seed=settings.seed)
  pieces, interrupted, pushed = [], False, 0
  jobs.say(settings, f"{item.source}: streaming {frames.shape[axis]} frames "
           f"({settings.stream_chunk} per push).")
  started = time.perf_counter()
  try:
    for start in range(0, frames.shape[axis], settings.stream_chunk):
      chunk = np.take(frames, range(start, min(start + settings.stream_chunk,
                                               frames.shape[axis])), axis=axis)
      pieces.append(inverter.push(chunk))
      pushed += chunk.shape[axis]
  except KeyboardInterrupt:
    interrupted = True
  pieces.append(inverter.flush())
  seconds = time.perf_counter() - started
  waveform = np.concatenate(pieces)
  length = settings.length if settings.length is not None else item.length
  if not interrupted and length is not None:  # The offline result's length (--length, a wav's).
    waveform = np.pad(waveform, (0, max(length - len(waveform), 0)))[:length]
  samples, _, _ = jobs.write_output(settings, item, waveform)
  if written is not None:
    written.append(_manifest_row(item, len(samples), None))  # No engine fit to report.
  audio_seconds = max(len(waveform), 1) / config.sample_rate
  if settings.report:
    _write_report(settings, {"input": item.source, "output": item.output, "stream": True,
                             "config": dataclasses.asdict(config), "frames_pushed": pushed,
                             "samples": len(waveform),
                             "latency_ms": 1000 * inverter.latency_seconds,
                             "real_time_factor": seconds / audio_seconds,
                             "interrupted": interrupted})
  jobs.say(settings, f"{item.output}: {len(samples)} samples at {config.sample_rate} Hz, "
           f"streamed {pushed} frames ({settings.stream_chunk} per push), latency "
           f"{1000 * inverter.latency_seconds:.1f} ms, real-time factor "
           f"{seconds / audio_seconds:.3f} ({seconds:.2f}s for {audio_seconds:.2f}s of audio)")
  if interrupted:
    print("interrupted: wrote the samples streamed so far.", file=sys.stderr)
    return EXIT_INTERRUPTED
  return EXIT_OK


def _exit_status(result, what):
  if result.stop_reason == "interrupted":
    print(f"interrupted: wrote {what}.", file=sys.stderr)
    return EXIT_INTERRUPTED
  return EXIT_OK


# ------------------------------------------------------------ entry point
def main(argv):
  """absl entry point: runs the job and exits with its status."""
  if FLAGS.version:
    from tfspecinv import __version__  # pylint: disable=import-outside-toplevel
    print(f"tfspecinv {__version__}")
    sys.exit(EXIT_OK)
  try:
    _take_positional(argv[1:])
    status = run()
  except UsageError as error:
    _usage_exit(str(error))
  except KeyboardInterrupt:
    print("interrupted before anything could be written.", file=sys.stderr)
    sys.exit(EXIT_INTERRUPTED)
  except Exception as error:  # pylint: disable=broad-except
    _data_exit(error)
  sys.exit(status)


def _take_positional(arguments):
  """`python main.py IN OUT`: two positional arguments are --input and --output.

  Raises:
    UsageError: not two of them, or one that disagrees with its flag.
  """
  if not arguments:
    return
  if len(arguments) != 2:
    raise UsageError(f"{len(arguments)} positional argument(s) {' '.join(arguments)!r}: give "
                     "two, INPUT OUTPUT (or --input=... --output=...); every other option is a "
                     "--flag.")
  for name, value in zip(("input", "output"), arguments):
    given = FLAGS[name].value
    if given is not None and os.path.normpath(given) != os.path.normpath(value):
      raise UsageError(f"--{name}={given} disagrees with the positional {name} {value!r}; "
                       "give it once.")
    FLAGS[name].value = value


def _data_exit(error):
  from tfspecinv.errors import SpecInvError  # pylint: disable=import-outside-toplevel
  if FLAGS.verbosity >= 1:
    raise error
  if isinstance(error, (SpecInvError, OSError)):
    print(f"error: {error}", file=sys.stderr)
  else:  # Unexpected: still one line, naming the input.
    text = (str(error).strip().splitlines() or [""])[0]
    where = f"{FLAGS.input}: " if FLAGS.input and FLAGS.input not in text else ""
    print(f"error: {where}{type(error).__name__}: {text} (run with --verbosity=1 for details)",
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
  """`python main.py`, `python -m tfspecinv` and the installed `tfspecinv` command."""
  # --helpshort lists the key flags of the program named by sys.argv[0]: the
  # job's flags and --version, whichever of the three started it.
  for module in (jobs.__name__, __name__):
    for flag in FLAGS.get_key_flags_for_module(module):
      FLAGS.register_key_flag_for_module(sys.argv[0], flag)
  program = sys.modules.get("__main__")
  if program is not None and not getattr(program, "__doc__", None):
    program.__doc__ = __doc__  # The usage text of --help (the installed script has none).
  app.run(main, flags_parser=parse_flags)

r"""Apache Beam pipeline: many spectrograms back to audio, on any Beam runner.

  python -m tfspecinv.beam --input='mels/*.npy,more/*.tfrecord' --output=wavs/ \
    --representation=mel --n_fft=1024 --hop_length=256 --n_mels=80 --fmax=8000 \
    --direct_num_workers=2 --direct_running_mode=multi_processing

Takes the command line's flags (`tfspecinv.jobs`, the same definitions and the
same per-item work as `main.py`); every other argument is a Beam pipeline
option (`--runner`, `--project`, ...). Needs `pip install -e ".[beam]"`.

Into `--output` go one wav per input (per record of a TFRecord file), named
by `jobs.output_files` (safe, distinct names, as main.py names them), written
under a temporary name and renamed, so a retried or killed bundle never leaves
a partial wav; `manifest.jsonl` (one line per output: input, name (the record
or file name the output's name came from), output, status
'written' or 'skipped', duration_seconds, seconds, spectral_convergence_db of
the written file) and `dead_letter.jsonl` (`{"input": ..., "reason": ...}` per
input that failed; the job goes on). Outputs that exist are skipped unless
`--overwrite`, and counted (`skipped` counter, a printed line). One job at a
time per output folder: a new run removes the temporary files a killed one
left there.
"""

import contextlib
import dataclasses
import json
import os
import sys
import tempfile
import time
import uuid

from absl import flags
from absl import logging as _absl_logging  # pylint: disable=unused-import  (--verbosity)

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms import window
from apache_beam.utils import timestamp
from apache_beam.utils import windowed_value

from tfspecinv import jobs
from tfspecinv.errors import SpecInvError

__all__ = ["InvertSpectrograms", "run", "main", "MANIFEST", "DEAD_LETTER"]

FLAGS = flags.FLAGS

MANIFEST, DEAD_LETTER = "manifest.jsonl", "dead_letter.jsonl"
NAMESPACE = "tfspecinv"
_DEAD, _SKIPPED, _NAMES = "dead", "skipped", "names"
_TEMPORARY_PREFIX = ".tfspecinv-beam-"
_UNCOMPRESSED = CompressionTypes.UNCOMPRESSED


def _reason(error):
  """One line saying why an input failed."""
  text = str(error).strip().splitlines()
  text = text[0] if text else ""
  from tfspecinv.errors import SpecInvError  # pylint: disable=import-outside-toplevel
  if isinstance(error, (SpecInvError, jobs.UsageError)):
    return text
  return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _dead(source, error):
  return beam.pvalue.TaggedOutput(_DEAD, {"input": source, "reason": _reason(error)})


def _is_local(path):
  return "://" not in path or path.startswith("file://")


# ------------------------------------------------------------------ files
class _MatchFiles(beam.DoFn):
  """A file pattern -> the paths it matches (a pattern matching nothing is a dead letter)."""

  def process(self, pattern):
    from tfspecinv import io as io_lib  # pylint: disable=import-outside-toplevel
    folder = _is_local(pattern) and os.path.isdir(pattern)
    try:
      found = FileSystems.match([FileSystems.join(pattern, "*") if folder else pattern])
      paths = sorted(m.path for m in found[0].metadata_list)
    except Exception as error:  # pylint: disable=broad-except
      yield _dead(pattern, error)
      return
    if folder:  # A local folder, as main.py takes it: the files it can invert.
      known = (io_lib.AUDIO_EXTENSIONS + io_lib.ARRAY_EXTENSIONS + io_lib.IMAGE_EXTENSIONS +
               io_lib.TFRECORD_EXTENSIONS)
      paths = [p for p in paths if os.path.splitext(p)[1].lower() in known]
    if not paths:
      yield _dead(pattern, jobs.data_error(f"{pattern}: matches no file."))
    yield from paths


class _LoadItems(beam.DoFn):
  """A path -> its items (one, or one per TFRecord record), their outputs not yet named."""

  def __init__(self, settings, output_dir):
    self._settings = settings
    self._output_dir = output_dir
    self._failed = beam.metrics.Metrics.counter(NAMESPACE, "failed")

  def process(self, path):
    from tfspecinv import io as io_lib  # pylint: disable=import-outside-toplevel
    try:
      kind = io_lib.input_kind(path)
      if kind == "tfrecord":
        items = self._records(path)
      else:
        try:
          items = self._load(path)
        except Exception:  # pylint: disable=broad-except
          # A file's name is taken even if it fails to load, as main.py does with a folder,
          # so fixing it later does not move another input's output.
          yield beam.pvalue.TaggedOutput(_NAMES, (path, _stem(path)))
          raise
    except Exception as error:  # pylint: disable=broad-except
      self._failed.inc()
      yield _dead(path, error)
      return
    yield from items

  def _load(self, path):
    """One file's items (read through a local copy when the path is remote), names first.

    An array with leading item axes gives one item each (`jobs.load_items`),
    sourced `PATH[i]` and so named `STEM_0000i` by `jobs.output_files`, as main.py
    names a TFRecord file's unnamed records.
    """
    from tfspecinv.errors import SpecInvError  # pylint: disable=import-outside-toplevel
    nominal = FileSystems.join(self._output_dir, _stem(path) + ".wav")  # Named again later.
    with _local_copy(path) as local:
      try:
        items = jobs.load_items(self._settings, local, nominal)
      except SpecInvError as error:  # Name the input, not its local copy.
        raise SpecInvError(str(error).replace(local, path)) from None
    results = []
    for item in items:
      item.source = item.source.replace(local, path)
      item.name = _stem(path) if item.source == path else None
      results.append(beam.pvalue.TaggedOutput(_NAMES, (item.source, item.name)))
    results.extend(_checked(self._settings, item) for item in items)
    return results

  def _records(self, path):
    """The items of a TFRecord file, failed records as dead letters."""
    jobs.import_tensorflow_quietly(self._settings.verbosity)
    with _local_copy(path) as local:
      records = jobs.tfrecord_items(self._settings, local, "", source=path)
    results = [beam.pvalue.TaggedOutput(_NAMES, (item.source, item.name))
               for item in records.items]  # Every parsed record's name, as main.py.
    for source, message in records.failures:
      self._failed.inc()
      results.append(_dead(source, jobs.data_error(message)))
    for item in records.items:
      try:
        jobs.check_array_item(self._settings, item)
        results.append(_checked(self._settings, item))
      except Exception as error:  # pylint: disable=broad-except
        self._failed.inc()
        results.append(_dead(item.source, error))
    return results


def _stem(path):
  return os.path.splitext(os.path.basename(path))[0]


def _name_outputs(entries):
  """All (source, name) pairs of the job -> (source, file name) pairs (`jobs.output_files`)."""
  return sorted(jobs.output_files(entries).items())


class _NameItems(beam.DoFn):
  """(source, {'item': [item], 'file': [file name]}) -> the item with its output; skips
  existing outputs."""

  def __init__(self, settings, output_dir):
    self._settings = settings
    self._output_dir = output_dir
    self._skipped = beam.metrics.Metrics.counter(NAMESPACE, "skipped")

  def process(self, joined):
    _, groups = joined
    files = list(groups["file"])
    for item in groups["item"]:
      item.output = FileSystems.join(self._output_dir, files[0])
      if not self._settings.overwrite and FileSystems.exists(item.output):
        self._skipped.inc()
        yield beam.pvalue.TaggedOutput(_SKIPPED, {"input": item.source, "name": item.name,
                                                  "output": item.output, "status": "skipped"})
        continue
      yield item


def _under_one_key(pair):
  return "names", pair


def _named_group(keyed):
  """('names', all (source, name) pairs) -> (source, file name) pairs (`jobs.output_files`)."""
  return _name_outputs(list(keyed[1]))


def _keyed_by_source(item):
  return item.source, item


def _checked(settings, item):
  """The item, its array made plain (not memory-mapped) for pickling.

  Raises:
    SpecInvError: a long input that needs block mode, which the pipeline does not run.
  """
  import numpy as np  # pylint: disable=import-outside-toplevel
  item.spectrogram = np.array(item.spectrogram)
  frames = jobs.block_frames(settings, item)
  if frames:
    raise jobs.data_error(
        f"{item.source}: a long input (block mode, --block_frames={frames}) is not run by the "
        "Beam pipeline; invert it with main.py, or pass --block_frames=0 (memory grows with "
        "the input).")
  return item


@contextlib.contextmanager
def _local_copy(path):
  """Yield a local path holding the file: the path itself when local, else a temporary copy."""
  if _is_local(path):
    yield path[len("file://"):] if path.startswith("file://") else path
    return
  handle, temporary = tempfile.mkstemp(prefix=".tfspecinv-in-",
                                       suffix=os.path.splitext(path)[1])
  try:
    with os.fdopen(handle, "wb") as out, FileSystems.open(
        path, "application/octet-stream", _UNCOMPRESSED) as source:
      for chunk in iter(lambda: source.read(1 << 20), b""):
        out.write(chunk)
    yield temporary
  finally:
    os.remove(temporary)


def store_atomically(path, data, overwrite):
  """Write `data` to `path` through FileSystems: a temporary name in its folder, then a rename.

  Args:
    path: Destination (any Beam filesystem).
    data: Bytes.
    overwrite: Replace an existing file; without it, a file that appeared
      meanwhile (a retried bundle) is kept and the new data dropped.

  Returns:
    True if written.
  """
  folder, name = FileSystems.split(path)
  temporary = FileSystems.join(folder, f"{_TEMPORARY_PREFIX}{uuid.uuid4().hex}-{name}.partial")
  try:
    with FileSystems.create(temporary, "application/octet-stream", _UNCOMPRESSED) as handle:
      handle.write(data)
    if not overwrite and FileSystems.exists(path):
      return False
    if overwrite and FileSystems.exists(path) and not _is_local(path):
      FileSystems.delete([path])
    FileSystems.rename([temporary], [path])
    return True
  finally:
    if FileSystems.exists(temporary):
      FileSystems.delete([temporary])


# ------------------------------------------------------------ the engine
class _InvertBatches(beam.DoFn):
  """Items -> wavs, equal-shaped items of one config batched (--batch_size) per bundle.

  The engine (TensorFlow, the compiled transforms of the job's config) is
  built once per worker in `setup`.
  """

  def __init__(self, settings):
    self._settings = settings
    self._written = beam.metrics.Metrics.counter(NAMESPACE, "written")
    self._failed = beam.metrics.Metrics.counter(NAMESPACE, "failed")
    self._audio_seconds = beam.metrics.Metrics.distribution(NAMESPACE, "audio_ms")
    self._buffers = {}

  def setup(self):
    jobs.import_tensorflow_quietly(self._settings.verbosity)
    from tfspecinv import pipeline  # pylint: disable=import-outside-toplevel
    try:  # Audio inputs take their file's rate; the flags' config is the common case.
      pipeline.engine_for(jobs.build_config(self._settings))
    except Exception:  # pylint: disable=broad-except
      pass

  def start_bundle(self):
    self._buffers = {}

  def process(self, item):
    key = jobs.group_key(self._settings, item)
    batch = self._buffers.setdefault(key, [])
    batch.append(item)
    if len(batch) >= self._settings.batch_size:
      del self._buffers[key]
      yield from self._invert(batch)

  def finish_bundle(self):
    buffers, self._buffers = self._buffers, {}
    for batch in buffers.values():
      for output in self._invert(batch):
        tag = None
        if isinstance(output, beam.pvalue.TaggedOutput):
          tag, output = output.tag, output.value
        value = windowed_value.WindowedValue(output, timestamp.MIN_TIMESTAMP,
                                             [window.GlobalWindow()])
        yield value if tag is None else beam.pvalue.TaggedOutput(tag, value)

  def _invert(self, batch):
    """Reconstruct one batch and write its wavs; yields manifest lines and dead letters."""
    started = time.perf_counter()
    try:
      waveforms, result = jobs.reconstruct_items(self._settings, batch)
    except Exception as error:  # pylint: disable=broad-except
      for item in batch:
        self._failed.inc()
        yield _dead(item.source, error)
      return
    for index, item in enumerate(batch):
      try:
        yield self._write(item, waveforms[index], result, index, started, len(batch))
      except Exception as error:  # pylint: disable=broad-except
        self._failed.inc()
        yield _dead(item.source, error)

  def _write(self, item, waveform, result, index, started, count):
    settings = self._settings
    stored = []
    store = lambda path, data: stored.append(store_atomically(path, data, settings.overwrite))
    written, gain, peak = jobs.write_output(settings, item, waveform, store=store)
    quality = jobs.measure(item, written, result, index, gain)
    jobs.warn_about_fit(settings, item, quality, gain, peak)
    duration = written.shape[-1] / item.config.sample_rate
    self._written.inc()
    self._audio_seconds.update(int(round(duration * 1000)))
    return {"input": item.source, "name": item.name, "output": item.output,
            "status": "written" if stored[0] else "skipped",
            "duration_seconds": duration,
            "seconds": (time.perf_counter() - started) / count, "batch": count,
            "spectral_convergence_db": quality["spectral_convergence_db"],
            "engine_spectral_convergence_db": quality["engine_spectral_convergence_db"]}


class InvertSpectrograms(beam.PTransform):
  """File patterns -> wavs in `output_dir`; outputs manifest lines and dead letters.

  Applied to a PCollection of file patterns; returns a dict of PCollections:
  'manifest' (dicts: input, output, status, duration_seconds, seconds,
  spectral_convergence_db), 'dead' (dicts: input, reason).
  """

  def __init__(self, settings, output_dir):
    """Args:
      settings: `jobs.JobSettings`.
      output_dir: The folder the wavs go to (any Beam filesystem).
    """
    super().__init__()
    self._settings = settings
    self._output_dir = output_dir

  def expand(self, patterns):
    files = _with_outputs(patterns, "Match", _MatchFiles(), _DEAD)
    loaded = _with_outputs(files[None] | "Spread" >> beam.Reshuffle(), "Load",
                           _LoadItems(self._settings, self._output_dir), _DEAD, _NAMES)
    # One naming pass over the whole job (names only, not the arrays): safe, distinct names,
    # joined to the items by source (a GroupByKey, not a side input: DaskRunner computes a
    # side input's whole upstream again).
    file_names = (loaded[_NAMES]
                  | "NameKey" >> beam.Map(_under_one_key)
                  | "AllNames" >> beam.GroupByKey()
                  | "NameOutputs" >> beam.FlatMap(_named_group))
    keyed_items = loaded[None] | "ItemKey" >> beam.Map(_keyed_by_source)
    joined = {"item": keyed_items, "file": file_names} | "Join" >> beam.CoGroupByKey()
    named = _with_outputs(joined, "Name", _NameItems(self._settings, self._output_dir), _SKIPPED)
    inverted = _with_outputs(named[None], "Invert", _InvertBatches(self._settings), _DEAD)
    manifest = ((inverted[None], named[_SKIPPED])
                | "Manifest" >> beam.Flatten())
    dead = ((files[_DEAD], loaded[_DEAD], inverted[_DEAD]) | "DeadLetters" >> beam.Flatten())
    return {"manifest": manifest, "dead": dead}


def _with_outputs(pcoll, label, fn, *tags):
  """`pcoll | label >> ParDo(fn).with_outputs(*tags)`, as a dict by tag (None: main), on any runner.

  Beam's DaskRunner gives a ParDo one output and pours its tagged outputs into
  it (Beam 2.77), so `fn`'s outputs travel as `(tag, value)` pairs in one
  PCollection and each tag is picked from it.
  """
  pairs = pcoll | label >> beam.ParDo(_Tagged(fn))
  return {tag: pairs | f"{label}.{tag or 'main'}" >> beam.FlatMap(_pick, tag)
          for tag in (None, *tags)}


def _pick(pair, tag):
  return [pair[1]] if pair[0] == tag else []


class _Tagged(beam.DoFn):
  """The outputs of `fn` (a DoFn with setup/start_bundle/process/finish_bundle) as
  `(tag, value)` pairs, None for its main output."""

  def __init__(self, fn):
    super().__init__()
    self._fn = fn

  def setup(self):
    self._fn.setup()

  def start_bundle(self):
    self._fn.start_bundle()

  def process(self, element):
    for output in self._fn.process(element) or ():
      if isinstance(output, beam.pvalue.TaggedOutput):
        yield output.tag, output.value
      else:
        yield None, output

  def finish_bundle(self):
    for output in self._fn.finish_bundle() or ():
      tag = None
      if isinstance(output, beam.pvalue.TaggedOutput):
        tag, output = output.tag, output.value
      yield windowed_value.WindowedValue((tag, output.value), output.timestamp, output.windows)

  def teardown(self):
    self._fn.teardown()


class _WriteJsonLines(beam.PTransform):
  """Dicts -> one JSONL file, sorted by input, written atomically (empty when none)."""

  def __init__(self, path):
    super().__init__()
    self._path = path

  def expand(self, records):
    path = self._path
    # One group that always exists (a None row joins it), by a GroupByKey: ToList's
    # default for no input is a side input, which DaskRunner computes again, with
    # every step before it (each wav written twice).
    none = records.pipeline | "Nothing" >> beam.Create([None])
    return ((records, none)
            | "AndNone" >> beam.Flatten()
            | "Key" >> beam.Map(lambda row: (0, row))
            | "All" >> beam.GroupByKey()
            | "Write" >> beam.MapTuple(lambda _, rows: _write_lines(path, rows)))


def _write_lines(path, rows):
  rows = sorted((row for row in rows if row is not None),
                key=lambda row: (row["input"], row.get("output", "")))
  data = "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows).encode()
  store_atomically(path, data, overwrite=True)
  return len(rows)


# ------------------------------------------------------------ the job
def remove_leftovers(output_dir):
  """Delete the temporary files a killed run left in `output_dir`; returns how many."""
  try:
    found = FileSystems.match([FileSystems.join(output_dir, _TEMPORARY_PREFIX + "*")])
    paths = [m.path for m in found[0].metadata_list]
  except Exception:  # pylint: disable=broad-except
    return 0
  if paths:
    FileSystems.delete(paths)
  return len(paths)


def _check_job(settings):
  """Raises: UsageError for flags the pipeline cannot honour."""
  if not FLAGS.input or not FLAGS.output:
    raise jobs.UsageError("--input (file patterns, comma-separated) and --output (a folder) "
                          "are required.")
  if settings.report or settings.plot:
    raise jobs.UsageError("--report and --plot take a single input file (main.py); the Beam "
                          f"pipeline writes {MANIFEST} instead.")


def run(argv):
  """Parse `argv` (the job's flags; the rest are Beam options), run the pipeline.

  Args:
    argv: Command line, program name first.

  Returns:
    A dict of counts: written, skipped, failed.

  Raises:
    UsageError: bad job flags.
  """
  beam_args = FLAGS(argv, known_only=True)[1:]
  settings = jobs.JobSettings.from_flags(FLAGS)
  _check_job(settings)
  output_dir = FLAGS.output.rstrip("/") or "/"
  patterns = [p.strip() for p in FLAGS.input.split(",") if p.strip()]
  if _is_local(output_dir):
    os.makedirs(output_dir, exist_ok=True)
  removed = remove_leftovers(output_dir)
  if removed:
    print(f"removed {removed} temporary file(s) left by an earlier run.", file=sys.stderr)
  if not any(a.startswith("--default_sdk_harness_log_level") for a in beam_args):
    beam_args.append("--default_sdk_harness_log_level=WARNING")  # Workers' INFO lines: noise.
  if _on_dask(beam_args):
    settings, patterns = _for_dask(settings, patterns, beam_args)
  options = PipelineOptions(beam_args)
  pipeline = beam.Pipeline(options=options)
  results = (pipeline | "Patterns" >> beam.Create(patterns)
             | "Invert" >> InvertSpectrograms(settings, output_dir))
  written = (results["manifest"] | "WriteManifest" >> _WriteJsonLines(
      FileSystems.join(output_dir, MANIFEST)),
             results["dead"] | "WriteDeadLetters" >> _WriteJsonLines(
                 FileSystems.join(output_dir, DEAD_LETTER)))
  # The last step needs both files: DaskRunner computes the last step's inputs only.
  _ = written | "Done" >> beam.Flatten()
  pipeline.run().wait_until_finish()
  counts = _counts(output_dir)
  print(f"wrote {counts['written']} wav(s), skipped {counts['skipped']} existing (pass "
        f"--overwrite to redo them), {counts['failed']} input(s) failed (see "
        f"{FileSystems.join(output_dir, DEAD_LETTER)}).", file=sys.stderr)
  return counts


def _on_dask(beam_args):
  """Whether --runner names Beam's DaskRunner (apache_beam.runners.dask.dask_runner)."""
  runners = [a.split("=", 1)[1] for a in beam_args if a.startswith("--runner=")]
  return bool(runners) and runners[-1].rsplit(".", 1)[-1].lower() in ("daskrunner", "dask")


def _for_dask(settings, patterns, beam_args):
  """Settings and patterns for Beam's DaskRunner, which runs each Dask partition as a bundle.

  * The driver matches the patterns to files (as the pipeline's Match step does:
    a pattern that fails stays, for its dead letter) and each file is a partition
    of its own (`--dask_partition_size=1` unless a partition option is given), so
    the files spread over the workers: the runner's Reshuffle moves nothing.
  * DaskRunner drops what a DoFn emits in `finish_bundle` (Beam 2.77), where a
    bundle's last partial batch is inverted: `--batch_size` is 1 there, with a note.

  Returns:
    (settings, patterns).
  """
  if not any(a.startswith(("--dask_npartitions", "--dask_partition_size")) for a in beam_args):
    beam_args.append("--dask_partition_size=1")
  matched = []
  for pattern in patterns:
    found = list(_MatchFiles().process(pattern))
    if any(isinstance(path, beam.pvalue.TaggedOutput) for path in found):
      matched.append(pattern)
    else:
      matched.extend(found)
  if settings.batch_size > 1:
    print(f"--batch_size={settings.batch_size} is not used with DaskRunner (it drops the "
          "outputs of a bundle's last batch); inverting one input at a time.", file=sys.stderr)
    settings = dataclasses.replace(settings, batch_size=1)
  return settings, matched


def _counts(output_dir):
  """Written/skipped/failed, from the manifest and dead-letter files the run wrote."""
  def lines(name):
    with FileSystems.open(FileSystems.join(output_dir, name), "text/plain", _UNCOMPRESSED) as f:
      return [json.loads(line) for line in f.read().decode().splitlines() if line.strip()]
  manifest = lines(MANIFEST)
  return {"written": sum(row["status"] == "written" for row in manifest),
          "skipped": sum(row["status"] == "skipped" for row in manifest),
          "failed": len(lines(DEAD_LETTER))}


def main(argv=None):
  """`python -m tfspecinv.beam`: exit status 0 when every input was inverted, 1 if some
  failed, 2 for a usage error."""
  argv = sys.argv if argv is None else argv
  try:
    counts = run(argv)
  except (jobs.UsageError, flags.Error) as error:
    print(f"usage error: {error}", file=sys.stderr)
    sys.exit(2)
  except SpecInvError as error:  # A bad --stats / --model_config file: one line, status 1.
    print(f"error: {error}", file=sys.stderr)
    sys.exit(1)
  sys.exit(1 if counts["failed"] else 0)


if __name__ == "__main__":
  # Run from the importable module, so workers unpickle its classes by reference.
  from tfspecinv import beam as _module  # pylint: disable=import-self
  _module.main()

"""The bench's runner: corpus, warm-up, timing, float64 librosa scoring, results files.

Every experiment (`python -m bench NAME`, see bench/experiments/) goes through
this module: it finds the clips of ../shared/corpus (listed in its
MANIFEST.tsv), cuts them (`--max_seconds`), warms the engine up, times each
call, scores the returned waveforms in float64 with librosa (SC, LSD, PESQ-WB,
STOI) and writes `bench/results/NAME.md`, which starts with the command, the
commit, the machine, its load and the library versions. Importing it runs
nothing but the optional `pesq` / `pystoi` imports.
"""

import argparse
import csv
import fnmatch
import glob
import os
import platform
import subprocess
import sys
import time
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
  sys.path.insert(0, REPO)

import numpy as np  # noqa: E402  pylint: disable=wrong-import-position

RESULTS_DIR = os.path.join(REPO, "bench", "results")
DEFAULT_CORPUS = os.path.normpath(os.path.join(REPO, "..", "shared", "corpus"))

SR = 22050
N_FFT = 1024
HOP = 256
N_MELS = 80
FMAX = 8000.0
LSD_FLOOR = 1e-10
SHORT_SECONDS = 1.0  # Length of the warm-up clip.

NOTES = []  # Global notes printed at the end (missing packages, failures).


def note(message):
  if message not in NOTES:
    NOTES.append(message)
    print(f"NOTE: {message}", flush=True)


# --------------------------------------------------------------- optional deps
PESQ_ERROR = STOI_ERROR = None  # Why pesq / pystoi did not import, if they did not.
try:
  from pesq import pesq as pesq_fn
except Exception as error:  # pragma: no cover - depends on the environment
  pesq_fn = None
  PESQ_ERROR = repr(error)
try:
  from pystoi import stoi as stoi_fn
except Exception as error:  # pragma: no cover
  stoi_fn = None
  STOI_ERROR = repr(error)


# --------------------------------------------------------------------- metrics
def mel_of(y):
  import librosa
  return librosa.feature.melspectrogram(y=np.asarray(y, np.float64), sr=SR, n_fft=N_FFT,
                                        hop_length=HOP, n_mels=N_MELS, fmax=FMAX, power=2.0)


def mag_of(y):
  import librosa
  return np.abs(librosa.stft(np.asarray(y, np.float64), n_fft=N_FFT, hop_length=HOP))


def sc_db(estimate, target):
  estimate = np.asarray(estimate, np.float64)
  target = np.asarray(target, np.float64)
  ratio = np.linalg.norm(estimate - target) / max(np.linalg.norm(target), 1e-300)
  return 20.0 * np.log10(max(ratio, 1e-15))


def lsd_db(p_estimate, p_target):
  """Log-spectral distance of powers `[bins, frames]` (floor relative to the target peak)."""
  p_estimate = np.asarray(p_estimate, np.float64)
  p_target = np.asarray(p_target, np.float64)
  eps = LSD_FLOOR * p_target.max() + 1e-30
  diff = 10.0 * (np.log10(p_estimate + eps) - np.log10(p_target + eps))
  return float(np.mean(np.sqrt(np.mean(diff * diff, axis=0))))


class Clip:
  """One corpus clip at `SR` Hz, mono float32 `y [samples]`, cut to `max_seconds`.

  `kind` is MANIFEST.tsv's kind (speech_female, music_band, environmental, ...)
  or, without a manifest, the file name's first word.
  """

  def __init__(self, path, max_seconds=None):
    import librosa
    self.path = path
    self.name = os.path.splitext(os.path.basename(path))[0]
    row = read_manifest(os.path.dirname(path)).get(os.path.basename(path), {})
    self.kind = row.get("kind") or self.name.split("_")[0]
    self.synthetic = self.name.startswith("synthetic_")
    y, _ = librosa.load(path, sr=SR, mono=True)
    if max_seconds:
      y = y[:int(max_seconds * SR)]
    self.y = y.astype(np.float32)
    self.duration = len(self.y) / SR
    self._ref16 = None

  @property
  def ref16(self):
    if self._ref16 is None:
      import librosa
      self._ref16 = librosa.resample(self.y.astype(np.float64), orig_sr=SR, target_sr=16000)
    return self._ref16

  @property
  def label(self):
    return ("* " if self.synthetic else "") + self.name


def perceptual(clip, waveform):
  """(PESQ-WB, STOI) or NaN where unavailable/failing."""
  import librosa
  waveform = np.asarray(waveform, np.float64)
  out = [np.nan, np.nan]
  if pesq_fn is not None:
    try:
      degraded = librosa.resample(waveform, orig_sr=SR, target_sr=16000)
      n = min(len(degraded), len(clip.ref16))
      out[0] = float(pesq_fn(16000, clip.ref16[:n], degraded[:n], "wb"))
    except Exception as error:
      note(f"PESQ failed on {clip.name}: {type(error).__name__}: {error}")
  if stoi_fn is not None:
    try:
      n = min(len(waveform), len(clip.y))
      out[1] = float(stoi_fn(clip.y[:n].astype(np.float64), waveform[:n], SR, extended=False))
    except Exception as error:
      note(f"STOI failed on {clip.name}: {type(error).__name__}: {error}")
  return out


def checked_waveform(clip, waveform):
  """float64 `[samples]`, with a note for a wrong length or non-finite samples (zeroed)."""
  waveform = np.asarray(waveform, np.float64).reshape(-1)
  if len(waveform) != len(clip.y):
    note(f"{clip.name}: output has {len(waveform)} samples, input {len(clip.y)}")
  if not np.all(np.isfinite(waveform)):
    note(f"{clip.name}: non-finite samples in an output; replaced by 0 for scoring")
    waveform = np.nan_to_num(waveform)
  return waveform


def mfcc_of(y, n_mfcc=40, n_mels=128):
  """librosa MFCCs `[n_mfcc, frames]` of `y` (its defaults: Slaney mels to sr/2, power 2,
  `power_to_db` with top_db 80, ortho DCT-II, no lifter), float64."""
  import librosa
  return librosa.feature.mfcc(y=np.asarray(y, np.float64), sr=SR, n_mfcc=n_mfcc, n_fft=N_FFT,
                              hop_length=HOP, n_mels=n_mels)


def mel128_of(y):
  """librosa mel power `[128, frames]` (the MFCCs' mel, fmax sr/2), float64."""
  import librosa
  return librosa.feature.melspectrogram(y=np.asarray(y, np.float64), sr=SR, n_fft=N_FFT,
                                        hop_length=HOP, n_mels=128, power=2.0)


REPRESENTATIONS = ("mel", "mfcc", "stft", "picture")


def representation_of(y, representation):
  """The representation the engine is given for `y`, float64, and how it is scored.

  Args:
    y: Waveform `[samples]` at `SR`.
    representation: 'mel' (80 Slaney mels to 8 kHz, power 2), 'mfcc' (40 of
      128 mels, `mfcc_of`), 'stft' (magnitude) or 'picture' (the dB STFT
      magnitude a picture is drawn from: `amplitude_to_db(|stft|, ref=max)`,
      top_db 80; scored on the STFT magnitude).

  Returns:
    `[bins, frames]` float64 array.

  Raises:
    ValueError: an unknown representation.
  """
  if representation == "mel":
    return mel_of(y)
  if representation == "mfcc":
    return mfcc_of(y)
  if representation == "stft":
    return mag_of(y)
  if representation == "picture":
    import librosa
    return librosa.amplitude_to_db(mag_of(y), ref=np.max, top_db=80.0)
  raise ValueError(f"unknown representation {representation!r}; use one of {REPRESENTATIONS}")


def score_waveform(clip, waveform, representation):
  """SC, LSD, PESQ-WB and STOI of an output waveform for `clip`, float64 with librosa.

  SC is of the representation itself (the STFT magnitude for pictures, after
  scaling the output by the least-squares gain: a picture is relative to its
  maximum and holds no level); LSD of the STFT power for 'stft' and 'picture',
  of the mel power otherwise (the 128 mels of the MFCCs for 'mfcc').

  Args:
    clip: `Clip`.
    waveform: Output `[samples]` at `SR`.
    representation: One of `REPRESENTATIONS`.

  Returns:
    dict with 'sc', 'lsd', 'pesq', 'stoi' (NaN where a package is missing).
  """
  waveform = checked_waveform(clip, waveform)
  if representation == "mfcc":
    sc = sc_db(mfcc_of(waveform), mfcc_of(clip.y))
    lsd = lsd_db(mel128_of(waveform), mel128_of(clip.y))
  elif representation == "mel":
    target = mel_of(clip.y)
    estimate = mel_of(waveform)
    sc, lsd = sc_db(estimate, target), lsd_db(estimate, target)
  else:
    target, estimate = mag_of(clip.y), mag_of(waveform)
    if representation == "picture":  # A picture holds no level: the least-squares gain first.
      gain = np.sum(estimate * target) / max(np.sum(estimate * estimate), 1e-300)
      waveform, estimate = waveform * gain, estimate * gain
    sc, lsd = sc_db(estimate, target), lsd_db(estimate ** 2, target ** 2)
  pesq, stoi = perceptual(clip, waveform)
  return {"sc": sc, "lsd": lsd, "pesq": pesq, "stoi": stoi}


def score(clip, waveform, seconds, representation, target, extra=None):
  """All metrics for one reconstruction; `target` is the given representation."""
  waveform = checked_waveform(clip, waveform)
  if representation == "mel":
    estimate = mel_of(waveform)
    p_est, p_tgt = estimate, target
  else:
    estimate = mag_of(waveform)
    p_est, p_tgt = estimate ** 2, np.asarray(target, np.float64) ** 2
  row = {"sc": sc_db(estimate, target), "lsd": lsd_db(p_est, p_tgt), "s": seconds,
         "rtf": seconds / clip.duration}
  row["pesq"], row["stoi"] = perceptual(clip, waveform)
  row.update(extra or {})
  return row


# ---------------------------------------------------------------------- tables
class Table:
  """Rows of a first text column and numeric/text cells; text and markdown renderers."""

  def __init__(self, title, headers, formats, notes=()):
    self.title = title
    self.headers = list(headers)
    self.formats = list(formats)
    self.rows = []  # (kind, cells): kind 'row', 'group', 'median'
    self.notes = list(notes)

  def add(self, cells, kind="row"):
    self.rows.append((kind, list(cells)))

  def group(self, label):
    self.rows.append(("group", [label]))

  def _cell(self, value, fmt):
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
      return "-"
    if isinstance(value, str):
      return value
    return fmt.format(value)

  def _rendered(self):
    out = []
    for kind, cells in self.rows:
      if kind == "group":
        out.append((kind, cells))
        continue
      out.append((kind, [cells[0]] + [self._cell(v, f) for v, f in
                                       zip(cells[1:], self.formats[1:])]))
    return out

  def text(self):
    rows = self._rendered()
    widths = [len(h) for h in self.headers]
    for kind, cells in rows:
      if kind != "group":
        widths = [max(w, len(c)) for w, c in zip(widths, cells)]
    line = lambda cells: "  ".join(
        (c.ljust(w) if i == 0 else c.rjust(w)) for i, (c, w) in enumerate(zip(cells, widths)))
    total = sum(widths) + 2 * (len(widths) - 1)
    lines = [self.title, "=" * min(len(self.title), total), line(self.headers), "-" * total]
    for kind, cells in rows:
      if kind == "group":
        lines.append(f"-- {cells[0]} " + "-" * max(0, total - len(cells[0]) - 4))
      else:
        lines.append(line(cells))
    lines += [f"  {n}" for n in self.notes]
    return "\n".join(lines)

  def markdown(self):
    lines = [f"### {self.title}", "", "| " + " | ".join(self.headers) + " |",
             "|" + "|".join([":---"] + ["---:"] * (len(self.headers) - 1)) + "|"]
    for kind, cells in self._rendered():
      if kind == "group":
        lines.append(f"| **{cells[0]}** |" + " |" * (len(self.headers) - 1))
      else:
        cells = [c.replace("|", "\\|") for c in cells]
        if kind == "median":
          cells[0] = f"**{cells[0]}**"
        lines.append("| " + " | ".join(cells) + " |")
    if self.notes:
      lines.append("")
      lines += [f"- {n}" for n in self.notes]
    return "\n".join(lines)


def metric_table(title, clips, results, methods, key, fmt, extra_columns=(), notes=()):
    """Rows per clip (real then synthetic), medians over real and all.

    `methods`: list of (column header, method key); `extra_columns`: list of
    (header, fmt, fn(clip, row_dict) -> value) appended after the methods.
    """
    headers = ["clip", "dur s"] + [h for h, _ in methods] + [h for h, _, _ in extra_columns]
    formats = ["{}", "{:.2f}"] + [fmt] * len(methods) + [f for _, f, _ in extra_columns]
    table = Table(title, headers, formats, notes)

    def values(clip):
      per = results.get(clip.name, {})
      cells = [per.get(m, {}).get(key, np.nan) for _, m in methods]
      cells += [fn(clip, per) for _, _, fn in extra_columns]
      return [float(c) if c is not None else np.nan for c in cells]

    real = [c for c in clips if not c.synthetic and c.name in results]
    synth = [c for c in clips if c.synthetic and c.name in results]
    for c in real:
      table.add([c.label, c.duration] + values(c))
    if synth:
      table.group("synthetic (espeak; excluded from the real median)")
      for c in synth:
        table.add([c.label, c.duration] + values(c))
    table.group("medians")
    for label, group in ((f"median real (n={len(real)})", real),
                         (f"median all (n={len(real) + len(synth)})", real + synth)):
      if not group:
        continue
      matrix = np.array([[c.duration] + values(c) for c in group], np.float64)
      with np.errstate(all="ignore"):
        med = [float(np.nanmedian(col)) if np.isfinite(col).any() else np.nan
               for col in matrix.T]
      table.add([label] + med, kind="median")
    return table


def ratio(a, b):
  return a / b if (b and np.isfinite(a) and np.isfinite(b) and b > 0) else np.nan


def metric(per, method, key):
  return per.get(method, {}).get(key, np.nan)


# ----------------------------------------------------------------- utilities
def timed(fn, *args, **kwargs):
  t0 = time.perf_counter()
  out = fn(*args, **kwargs)
  return out, time.perf_counter() - t0


def engine_call(tfspecinv, spec, cfg, clip_len, **kwargs):
  """(waveform float64, result, wall seconds)."""
  (waveform, result), seconds = timed(tfspecinv.reconstruct, spec, cfg, length=clip_len,
                                      seed=0, **kwargs)
  return np.asarray(waveform, np.float64), result, seconds


def engine_extra(result):
  return {"stop": getattr(result, "stop_reason", "?"),
          "gl_it": getattr(result, "gl_iterations", np.nan),
          "lb_it": getattr(result, "lbfgs_iterations", np.nan),
          "evals": getattr(result, "lbfgs_evaluations", np.nan),
          "self_sc": float(np.ravel(getattr(result, "spectral_convergence_db", [np.nan]))[0]),
          "stages": dict(getattr(result, "stage_seconds", {}) or {})}


def run_safely(what, fn):
  try:
    return fn()
  except Exception as error:
    note(f"{what} failed: {type(error).__name__}: {error}")
    traceback.print_exc()
    return None


def self_check_note(results, methods, rows):
  """Compare the engine's own SC with ours (same definition; should agree to ~0.1 dB)."""
  diffs = []
  for per in results.values():
    for _, m in methods:
      r = per.get(m)
      if r and "self_sc" in r and np.isfinite(r["self_sc"]):
        diffs.append(abs(r["self_sc"] - r["sc"]))
  if diffs:
    rows.append(f"engine-reported spectral_convergence_db vs this script: max |diff| = "
                f"{max(diffs):.3f} dB over {len(diffs)} runs")


def work_table(title, clips, results, methods):
  headers = ["clip"]
  for h, _ in methods:
    headers += [f"{h} stop", "GL it", "L-BFGS it", "evals"]
  table = Table(title, headers, ["{}"] + ["{}", "{:.0f}", "{:.0f}", "{:.0f}"] * len(methods))
  for c in clips:
    per = results.get(c.name)
    if not per:
      continue
    cells = [c.label]
    for _, m in methods:
      r = per.get(m, {})
      cells += [r.get("stop", "-"), r.get("gl_it", np.nan), r.get("lb_it", np.nan),
                r.get("evals", np.nan)]
    table.add([cells[0]] + [float(x) if isinstance(x, (int, np.integer)) else x
                            for x in cells[1:]])
  return table


def quality_tables(prefix, clips, results, methods, what):
  tables = [
      metric_table(f"{prefix} spectral convergence of the {what}, dB (lower is better)",
                   clips, results, methods, "sc", "{:.2f}"),
      metric_table(f"{prefix} log-spectral distance, dB (lower is better)",
                   clips, results, methods, "lsd", "{:.2f}"),
  ]
  if pesq_fn is not None:
    tables.append(metric_table(f"{prefix} PESQ-WB (16 kHz; higher is better)", clips, results,
                               methods, "pesq", "{:.2f}"))
  if stoi_fn is not None:
    tables.append(metric_table(f"{prefix} STOI (higher is better)", clips, results, methods,
                               "stoi", "{:.3f}"))
  return tables


def emit(tables):
  for t in tables:
    print()
    print(t.text(), flush=True)


def write_results(results_dir, name, text):
  """Writes `text` to `results_dir`/NAME.md (the one place results files are written).

  Returns:
    The path written.
  """
  os.makedirs(results_dir, exist_ok=True)
  path = os.path.join(results_dir, f"{name}.md")
  with open(path, "w") as f:
    f.write(text if text.endswith("\n") else text + "\n")
  return path


def write_markdown(results_dir, name, header_lines, tables):
  """Header lines and tables as markdown, written by `write_results`.

  Returns:
    (path, text).
  """
  text = "\n".join(header_lines) + "\n\n" + "\n\n".join(t.markdown() for t in tables) + "\n"
  return write_results(results_dir, name, text), text



# ------------------------------------------------------ headers and corpus
def commit(root=REPO):
  """The commit of the git tree at `root`, with '+changes' when the tree differs from it."""
  run = lambda *a: subprocess.run(["git", "-C", root, *a], capture_output=True, text=True,
                                  check=False).stdout.strip()
  commit = run("rev-parse", "--short", "HEAD") or "unknown"
  return commit + (" +changes" if run("status", "--porcelain", "--untracked-files=no") else "")


def cpu_model():
  try:
    with open("/proc/cpuinfo") as handle:
      for line in handle:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or "unknown CPU"


def command_line():
  """The command that ran: `python -m bench NAME ...` when run through it, else sys.argv."""
  return os.environ.get("BENCH_COMMAND") or "python " + " ".join(sys.argv)


def machine_lines(tf, tfspecinv, librosa):
  """Markdown header lines: command, commit, date, machine, load and library versions."""
  return [
      f"- command: `{command_line()}`",
      f"- commit {commit()}, {time.strftime('%Y-%m-%d %H:%M %Z')}",
      f"- {platform.platform()}, {os.cpu_count()} CPUs ({cpu_model()}), "
      f"load average at start {os.getloadavg()[0]:.2f} (timings are noisy on a shared machine)",
      f"- Python {platform.python_version()}, tensorflow {tf.__version__}, tfspecinv "
      f"{getattr(tfspecinv, '__version__', '?')}, librosa {librosa.__version__}, "
      f"numpy {np.__version__}",
  ]


def add_corpus_arguments(parser, clips=None, max_seconds=None):
  """--corpus, --clips, --max_seconds and --results_dir, shared by every experiment.

  Args:
    parser: `argparse.ArgumentParser`.
    clips: Default of --clips (None: every clip).
    max_seconds: Default of --max_seconds (None: whole clips).
  """
  parser.add_argument("--corpus", default=DEFAULT_CORPUS, help="folder of .wav clips with a "
                      f"MANIFEST.tsv (default {DEFAULT_CORPUS})")
  parser.add_argument("--clips", default=clips,
                      help="glob(s) on clip file names, comma-separated, e.g. 'speech_*'"
                      + (f" (default {clips!r})" if clips else ""))
  parser.add_argument("--max_seconds", type=float, default=max_seconds,
                      help="cut every clip to this many seconds")
  parser.add_argument("--results_dir", default=RESULTS_DIR)
  # The older spellings, still accepted (not listed by --help).
  parser.add_argument("--max-seconds", dest="max_seconds", type=float, default=argparse.SUPPRESS,
                      help=argparse.SUPPRESS)
  parser.add_argument("--results-dir", dest="results_dir", default=argparse.SUPPRESS,
                      help=argparse.SUPPRESS)


def read_manifest(corpus):
  """{file name: row dict} of `corpus`/MANIFEST.tsv ({} when it has none)."""
  path = os.path.join(corpus, "MANIFEST.tsv")
  if not os.path.exists(path):
    return {}
  with open(path, newline="") as handle:
    return {row["file"]: row for row in csv.DictReader(handle, delimiter="\t")}


def corpus_paths(corpus):
  """The corpus's .wav paths, sorted: those MANIFEST.tsv lists when it has one.

  Raises:
    ValueError: no .wav file, or a MANIFEST.tsv row whose file is missing.
  """
  paths = sorted(glob.glob(os.path.join(corpus, "*.wav")))
  manifest = read_manifest(corpus)
  if manifest:
    missing = sorted(set(manifest) - {os.path.basename(p) for p in paths})
    if missing:
      raise ValueError(f"{corpus}/MANIFEST.tsv lists files that are not there: {missing}")
    unlisted = [p for p in paths if os.path.basename(p) not in manifest]
    if unlisted:
      note(f"{len(unlisted)} .wav files in {corpus} are not in MANIFEST.tsv; left out")
    paths = [p for p in paths if os.path.basename(p) in manifest]
  if not paths:
    raise ValueError(f"no .wav files in {corpus}; pass --corpus=DIR")
  return paths


def select_paths(parser, args):
  """(all corpus paths, those matching --clips); exits with a usage error on no corpus."""
  try:
    paths = corpus_paths(args.corpus)
  except ValueError as error:
    parser.error(str(error))
  if not args.clips:
    return paths, paths
  patterns = [p.strip() for p in args.clips.split(",") if p.strip()]
  selected = [p for p in paths if any(fnmatch.fnmatch(os.path.basename(p), pat) or
                                      fnmatch.fnmatch(os.path.splitext(os.path.basename(p))[0],
                                                      pat) for pat in patterns)]
  return paths, selected


def load_clips(parser, args):
  """The selected corpus clips, real ones first and synthetic last."""
  _, selected = select_paths(parser, args)
  if not selected:
    parser.error(f"--clips {args.clips!r} matches no clip in {args.corpus}")
  clips = [Clip(p, args.max_seconds) for p in selected]
  clips.sort(key=lambda c: (c.synthetic, c.name))
  return clips


# ----------------------------------------------------------------- the runner
def versions_line():
  """Python and library versions, read without importing TensorFlow."""
  from importlib import metadata  # pylint: disable=import-outside-toplevel
  out = [f"Python {platform.python_version()}"]
  for package in ("tensorflow", "tensorflow-probability", "librosa", "numpy", "pesq", "pystoi"):
    try:
      out.append(f"{package} {metadata.version(package)}")
    except metadata.PackageNotFoundError:
      out.append(f"{package} (not installed)")
  return ", ".join(out)


def header_lines(title, argv=None):
  """The results header: title, command, commit, date, machine, load, versions."""
  command = command_line() if argv is None else "python " + " ".join(argv)
  return [
      f"# {title}",
      "",
      f"- command: `{command}`",
      f"- commit {commit()}, {time.strftime('%Y-%m-%d %H:%M %Z')}",
      f"- {platform.platform()}, {os.cpu_count()} CPUs ({cpu_model()}), "
      f"load average at start {os.getloadavg()[0]:.2f} (timings are noisy on a shared machine)",
      f"- {versions_line()}",
  ]


class Context:
  """What an experiment's hooks see: the parsed flags, the clips and free-form notes."""

  def __init__(self, args, clips):
    self.args = args
    self.clips = clips
    self.notes = []  # Lines added to the results header.
    self.warm_up = {}  # setting label -> seconds of the warm-up call.


def setting_label(setting):
  """A short text for a grid setting (its 'label' entry, or its items)."""
  if isinstance(setting, dict):
    return setting.get("label") or ", ".join(f"{k}={v}" for k, v in setting.items())
  return str(setting)


def run_grid(module, argv=None, prog=None):
  """Runs one experiment module over its grid on the corpus and writes its results.

  The module provides `NAME`, `TITLE`, `GRID` (a list of settings, or
  `grid(args)`), `run(clip, setting) -> row` and `tables(context, rows) ->
  [Table]`; optionally `add_arguments(parser)`, `setup(context)`,
  `teardown(context)`, `DEFAULT_CLIPS`, `DEFAULT_MAX_SECONDS`.

  Each setting is first run once on the first clip (warm-up: tracing,
  compilation; timed and reported apart). Then every clip runs every setting,
  the order reversed on every other clip so that no setting always runs
  first. A row's 'seconds' is its own (e.g. measured in a worker) or, when it
  has none, the wall time of `run`. A row with a 'waveform' and a setting with
  a 'representation' is scored here (`score_waveform`).

  Returns:
    (path of the results file, [(clip, setting, row)]).
  """
  parser = argparse.ArgumentParser(prog=prog or f"python -m bench {module.NAME}",
                                   description=module.TITLE)
  add_corpus_arguments(parser, getattr(module, "DEFAULT_CLIPS", None),
                       getattr(module, "DEFAULT_MAX_SECONDS", None))
  if hasattr(module, "add_arguments"):
    module.add_arguments(parser)
  args = parser.parse_args(argv)
  header = header_lines(module.TITLE, [f"-m bench {module.NAME}"] + list(
      sys.argv[1:] if argv is None else argv))
  clips = load_clips(parser, args)
  context = Context(args, clips)
  grid = module.grid(args) if hasattr(module, "grid") else list(module.GRID)
  started = time.perf_counter()
  if hasattr(module, "setup"):
    module.setup(context)
  rows = []
  try:
    for setting in grid:
      _, seconds = timed(module.run, clips[0], setting)
      context.warm_up[setting_label(setting)] = seconds
      print(f"warm-up {setting_label(setting)}: {seconds:.2f} s", flush=True)
    for i, clip in enumerate(clips):
      for setting in (grid if i % 2 == 0 else grid[::-1]):
        row, seconds = timed(module.run, clip, setting)
        row = dict(row)
        row.setdefault("seconds", seconds)
        waveform = row.pop("waveform", None)
        if waveform is not None and isinstance(setting, dict) and "representation" in setting:
          row.update(score_waveform(clip, waveform, setting["representation"]))
        rows.append((clip, setting, row))
        print(f"{i + 1}/{len(clips)} {clip.name} {setting_label(setting)}: " + ", ".join(
            f"{k} {v:.3f}" for k, v in row.items() if isinstance(v, float)), flush=True)
    if hasattr(module, "after_grid"):
      module.after_grid(context, rows)
  finally:
    if hasattr(module, "teardown"):
      module.teardown(context)
  tables = module.tables(context, rows)
  total = time.perf_counter() - started
  header += [f"- {len(clips)} clips of {args.corpus}"
             + (f", cut to {args.max_seconds:g} s" if args.max_seconds else "")
             + f", at {SR} Hz: " + ", ".join(c.name for c in clips)]
  header += [f"- {line}" for line in context.notes]
  header.append("- warm-up (first call of each setting, on the first clip, not counted): "
                + ", ".join(f"{k} {v:.1f} s" for k, v in context.warm_up.items()))
  header.append(f"- whole run (setup, warm-up, grid, scoring): {total:.0f} s")
  header += [f"- NOTE: {n}" for n in NOTES]
  emit(tables)
  path, _ = write_markdown(args.results_dir, module.NAME, header, tables)
  print(f"\n(written to {path})", flush=True)
  return path, rows

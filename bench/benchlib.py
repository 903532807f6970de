"""Shared pieces of the bench scripts: corpus clips, metrics, tables, result headers.

Importing it runs nothing but the optional `pesq` / `pystoi` imports.
"""

import fnmatch
import glob
import os
import platform
import sys
import time
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO not in sys.path:
  sys.path.insert(0, _REPO)

import numpy as np  # noqa: E402


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
_PESQ_ERROR = _STOI_ERROR = None  # Why pesq / pystoi did not import, if they did not.
try:
  from pesq import pesq as _pesq
except Exception as error:  # pragma: no cover - depends on the environment
  _pesq = None
  _PESQ_ERROR = repr(error)
try:
  from pystoi import stoi as _stoi
except Exception as error:  # pragma: no cover
  _stoi = None
  _STOI_ERROR = repr(error)


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
  def __init__(self, path, max_seconds=None):
    import librosa
    self.path = path
    self.name = os.path.splitext(os.path.basename(path))[0]
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
  if _pesq is not None:
    try:
      degraded = librosa.resample(waveform, orig_sr=SR, target_sr=16000)
      n = min(len(degraded), len(clip.ref16))
      out[0] = float(_pesq(16000, clip.ref16[:n], degraded[:n], "wb"))
    except Exception as error:
      note(f"PESQ failed on {clip.name}: {type(error).__name__}: {error}")
  if _stoi is not None:
    try:
      n = min(len(waveform), len(clip.y))
      out[1] = float(_stoi(clip.y[:n].astype(np.float64), waveform[:n], SR, extended=False))
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


def _ratio(a, b):
  return a / b if (b and np.isfinite(a) and np.isfinite(b) and b > 0) else np.nan


def _get(per, method, key):
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
  if _pesq is not None:
    tables.append(metric_table(f"{prefix} PESQ-WB (16 kHz; higher is better)", clips, results,
                               methods, "pesq", "{:.2f}"))
  if _stoi is not None:
    tables.append(metric_table(f"{prefix} STOI (higher is better)", clips, results, methods,
                               "stoi", "{:.3f}"))
  return tables


def emit(tables):
  for t in tables:
    print()
    print(t.text(), flush=True)


def write_markdown(results_dir, name, header_lines, tables):
  text = "\n".join(header_lines) + "\n\n" + "\n\n".join(t.markdown() for t in tables) + "\n"
  os.makedirs(results_dir, exist_ok=True)
  path = os.path.join(results_dir, f"{name}.md")
  with open(path, "w") as f:
    f.write(text)
  return path, text



# ------------------------------------------------------ headers and corpus
def _commit():
  """The repository's commit, with '+changes' when the tree differs from it."""
  import subprocess  # pylint: disable=import-outside-toplevel
  run = lambda *a: subprocess.run(["git", "-C", _REPO, *a], capture_output=True, text=True,
                                  check=False).stdout.strip()
  commit = run("rev-parse", "--short", "HEAD") or "unknown"
  return commit + (" +changes" if run("status", "--porcelain", "--untracked-files=no") else "")


def _cpu_model():
  try:
    with open("/proc/cpuinfo") as handle:
      for line in handle:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or "unknown CPU"


def machine_lines(tf, tfspecinv, librosa):
  """Markdown header lines: command, commit, date, machine, load and library versions."""
  return [
      f"- command: `python {' '.join(sys.argv)}`",
      f"- commit {_commit()}, {time.strftime('%Y-%m-%d %H:%M %Z')}",
      f"- {platform.platform()}, {os.cpu_count()} CPUs ({_cpu_model()}), "
      f"load average at start {os.getloadavg()[0]:.2f} (timings are noisy on a shared machine)",
      f"- Python {platform.python_version()}, tensorflow {tf.__version__}, tfspecinv "
      f"{getattr(tfspecinv, '__version__', '?')}, librosa {librosa.__version__}, "
      f"numpy {np.__version__}",
  ]


def add_corpus_arguments(parser):
  """--corpus, --clips, --max-seconds and --results-dir, shared by the bench scripts."""
  default_corpus = os.path.normpath(os.path.join(_REPO, "..", "shared", "corpus"))
  parser.add_argument("--corpus", default=default_corpus, help="folder of .wav clips "
                      f"(default {default_corpus})")
  parser.add_argument("--clips", default=None,
                      help="glob(s) on clip file names, comma-separated, e.g. 'speech_*'")
  parser.add_argument("--max-seconds", type=float, default=None,
                      help="truncate every clip to this many seconds")
  parser.add_argument("--results-dir", default=os.path.join(_REPO, "bench", "results"))


def select_paths(parser, args):
  """Corpus .wav paths matching --clips (all when unset); exits on no match."""
  paths = sorted(glob.glob(os.path.join(args.corpus, "*.wav")))
  if not paths:
    parser.error(f"no .wav files in {args.corpus}")
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

#!/usr/bin/env python
"""Benchmark tfspecinv against librosa on the shared audio corpus.

Three experiments (select with --experiments, default all):

  mel     A. 80-band Slaney mel power spectrograms (fmax 8 kHz): librosa
             `mel_to_audio` (32 Griffin-Lim iterations, its default) against
             `tfspecinv.reconstruct` with the default method (L-BFGS),
             method='joint', and Griffin-Lim only (32 iterations). Also the
             one-off start-up cost (import + first-call tracing).
  linear  B. Linear STFT magnitudes: librosa `griffinlim` (300 iterations),
             timed per clip, against the engine run with that same wall-time
             budget (L-BFGS after a long Griffin-Lim start as in the issue, L-BFGS
             after the default 32-iteration start, and Griffin-Lim only).
  speed   C. Per-iteration costs on one clip (LJ Speech, 5 s): librosa GL,
             compiled GL, one L-BFGS function+gradient evaluation.

Settings: 22050 Hz, n_fft 1024, hop 256, spectrograms made by librosa.
Every clip is loaded with `librosa.load(sr=22050)`. `synthetic_*` clips are
reported in their own group (marked `*`); medians are given over the real
clips and over all clips.

Metrics, all computed here in float64 from the returned waveform:
  SC   spectral convergence of the given representation,
       20 log10(||S_hat - S||_F / ||S||_F), S_hat by the same librosa transform;
  LSD  log-spectral distance, mean over frames of
       sqrt(mean over bins (10 log10(P_hat / P))^2), floor 1e-10 x peak power;
  s    wall seconds of the call;
  PESQ wide-band PESQ (both signals resampled to 16 kHz), if `pesq` imports;
  STOI at 22050 Hz (pystoi resamples internally), if `pystoi` imports.

Run from the repository root:

  PYTHONPATH=. python bench/reconstruct_bench.py                 # everything
  PYTHONPATH=. python bench/reconstruct_bench.py --clips 'speech_*' --experiments mel,speed

Tables are printed as aligned text; markdown versions go to
bench/results/<experiment>.md and are printed again at the end.
"""

import argparse
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


# ----------------------------------------------------------- experiment A: mel
MEL_METHODS = [("librosa m2a", "librosa"), ("eng lbfgs", "lbfgs"),
               ("eng lbfgs random", "lbfgs_random"), ("eng joint", "joint"), ("eng GL32", "gl32")]


def experiment_mel(tfspecinv, clips, env):
  import librosa
  cfg = tfspecinv.SpectrogramConfig.librosa(sample_rate=SR, n_fft=N_FFT, hop_length=HOP,
                                            n_mels=N_MELS, fmax=FMAX, power=2.0,
                                            representation="mel")
  mel_to_audio = lambda M, n: librosa.feature.inverse.mel_to_audio(
      M, sr=SR, n_fft=N_FFT, hop_length=HOP, power=2.0, n_iter=32, length=n, fmax=FMAX)
  engine = {
      "lbfgs": dict(),
      "lbfgs_random": dict(init="random"),
      "joint": dict(method="joint"),
      "gl32": dict(method="griffin_lim", gl_iters=32),
  }
  results = {}

  # Start-up: first call minus a second identical call, on the first clip.
  first = clips[0]
  M0 = mel_of(first.y).astype(np.float32)
  startup = {}

  def measure_startup():
    _, r1, t1 = engine_call(tfspecinv, M0, cfg, len(first.y))
    w2, r2, t2 = engine_call(tfspecinv, M0, cfg, len(first.y))
    startup.update(first=t1, second=t2, extra=t1 - t2, first_stages=r1.stage_seconds,
                   second_stages=r2.stage_seconds)
    return w2, r2, t2

  print(f"[mel] start-up measurement on {first.name} ...", flush=True)
  reuse = run_safely("mel start-up measurement", measure_startup)

  # Warm-up of the other methods (tracing) and of librosa, on a short clip.
  short = first.y[:int(SHORT_SECONDS * SR)]
  Ms = mel_of(short).astype(np.float32)
  warm = {}
  for m, kw in engine.items():
    if m == "lbfgs" and reuse is not None:
      continue
    res = run_safely(f"warm-up {m}", lambda: engine_call(tfspecinv, Ms, cfg, len(short), **kw))
    if res:
      warm[m] = res[2]
  res = run_safely("warm-up librosa", lambda: timed(mel_to_audio, Ms, len(short)))
  if res:
    warm["librosa"] = res[1]

  for i, clip in enumerate(clips):
    M = mel_of(clip.y).astype(np.float32)
    per = results.setdefault(clip.name, {})
    np.random.seed(0)  # mel_to_audio's griffinlim draws its initial phase from np.random.
    res = run_safely(f"librosa mel_to_audio on {clip.name}",
                     lambda: timed(mel_to_audio, M, len(clip.y)))
    if res:
      per["librosa"] = score(clip, res[0], res[1], "mel", M)
    for m, kw in engine.items():
      if i == 0 and m == "lbfgs" and reuse is not None:
        w, r, t = reuse  # The second (warm) call of the start-up measurement.
      else:
        res = run_safely(f"engine {m} on {clip.name}",
                         lambda: engine_call(tfspecinv, M, cfg, len(clip.y), **kw))
        if not res:
          continue
        w, r, t = res
      per[m] = score(clip, w, t, "mel", M, engine_extra(r))
    print(f"[mel] {i + 1}/{len(clips)} {clip.name}: " + ", ".join(
        f"{m} SC {v['sc']:.1f} dB {v['s']:.1f}s" for m, v in per.items()), flush=True)

  notes = []
  self_check_note(results, MEL_METHODS[1:], notes)
  tables = quality_tables("A. Mel (80 Slaney bands, fmax 8 kHz, power 2):", clips, results,
                          MEL_METHODS, "mel power spectrogram")
  tables[0].notes += notes
  extra = [(f"{m}/dur", "{:.2f}", (lambda m: lambda c, p: _get(p, m, "rtf"))(m))
           for h, m in MEL_METHODS[1:]]
  extra += [(f"{m}/lib", "{:.2f}",
             (lambda m: lambda c, p: _ratio(_get(p, m, "s"), _get(p, "librosa", "s")))(m))
            for h, m in MEL_METHODS[1:]]
  tables.append(metric_table(
      "A. Mel: wall seconds; X/dur = engine time / clip duration; X/lib = engine / librosa time",
      clips, results, MEL_METHODS, "s", "{:.2f}", extra,
      notes=["warm timings: tracing is excluded (see start-up); first clip's 'eng lbfgs' is "
             "the second call of the start-up measurement"]))
  tables.append(work_table("A. Mel: work done by the engine (stop reason, iterations, "
                           "L-BFGS evaluations)", clips, results, MEL_METHODS[1:]))

  st = Table("A. Start-up cost (one-off)", ["item", "seconds"], ["{}", "{:.2f}"])
  st.add(["import tfspecinv (incl. TensorFlow, TFP)", env["import_s"]])
  if startup:
    st.add([f"first reconstruct() on {first.name}", startup["first"]])
    st.add(["second identical call", startup["second"]])
    st.add(["first-call extra (tracing etc.)", startup["extra"]])
    st.add(["start-up total (import + first-call extra)", env["import_s"] + startup["extra"]],
           kind="median")
    st.notes.append("first call stages: " + ", ".join(
        f"{k} {v:.2f}s" for k, v in startup["first_stages"].items()))
    st.notes.append("second call stages: " + ", ".join(
        f"{k} {v:.2f}s" for k, v in startup["second_stages"].items()))
  if warm:
    st.notes.append(f"warm-up calls on a {SHORT_SECONDS:g} s clip (tracing of the other "
                    "methods): " + ", ".join(f"{k} {v:.2f}s" for k, v in warm.items()))
  tables.insert(0, st)
  return tables, results


# -------------------------------------------------------- experiment B: linear
LIN_METHODS = [("librosa GL300", "librosa"), ("eng GL pghi", "gl_pghi"),
               ("eng lbfgs pghi", "lbfgs_pghi"), ("eng default", "lbfgs"),
               ("eng GL random", "gl")]


def experiment_linear(tfspecinv, clips, env, gl_iters=2000, lbfgs_iters=2000, n_iter=300):
  import librosa
  cfg = tfspecinv.SpectrogramConfig.librosa(sample_rate=SR, n_fft=N_FFT, hop_length=HOP,
                                            representation="stft", power=1.0)
  griffinlim = lambda S, n, it: librosa.griffinlim(S, n_iter=it, hop_length=HOP, n_fft=N_FFT,
                                                   length=n, random_state=0)
  engine = {
      # Griffin-Lim only, from the phase-gradient heuristic (PGHI) start.
      "gl_pghi": dict(method="griffin_lim", gl_iters=100000, init="pghi"),
      # Hybrid: PGHI, Griffin-Lim on half the budget, L-BFGS polishing on the rest.
      "lbfgs_pghi": dict(method="lbfgs", gl_iters=gl_iters, lbfgs_iters=lbfgs_iters,
                         init="pghi"),
      # The defaults (init='auto' = PGHI, 32 Griffin-Lim iterations, then L-BFGS).
      "lbfgs": dict(method="lbfgs", gl_iters=32, lbfgs_iters=100000),
      # Griffin-Lim from a random phase, as librosa.
      "gl": dict(method="griffin_lim", gl_iters=100000, init="random"),
  }
  short = clips[0].y[:int(SHORT_SECONDS * SR)]
  Ss = mag_of(short).astype(np.float32)
  warm = {}
  # Warm-up: trace every path (with and without a budget; L-BFGS start and run).
  for m, kw in engine.items():
    kw = dict(kw, gl_iters=min(kw["gl_iters"], 32))
    if "lbfgs_iters" in kw:
      kw["lbfgs_iters"] = 20
    res = run_safely(f"warm-up {m}", lambda: engine_call(tfspecinv, Ss, cfg, len(short), **kw))
    if res:
      warm[m] = res[2]
    run_safely(f"warm-up {m} (budget)", lambda: engine_call(
        tfspecinv, Ss, cfg, len(short), time_budget=5.0, **kw))
  res = run_safely("warm-up librosa", lambda: timed(griffinlim, Ss, len(short), 10))
  if res:
    warm["librosa"] = res[1]

  results = {}
  for i, clip in enumerate(clips):
    S = mag_of(clip.y).astype(np.float32)
    per = results.setdefault(clip.name, {})
    res = run_safely(f"librosa griffinlim on {clip.name}",
                     lambda: timed(griffinlim, S, len(clip.y), n_iter))
    if not res:
      continue
    budget = res[1]
    per["librosa"] = score(clip, res[0], budget, "stft", S)
    for m, kw in engine.items():
      res = run_safely(f"engine {m} on {clip.name}", lambda: engine_call(
          tfspecinv, S, cfg, len(clip.y), time_budget=budget, **kw))
      if res:
        w, r, t = res
        per[m] = score(clip, w, t, "stft", S, engine_extra(r))
    print(f"[linear] {i + 1}/{len(clips)} {clip.name} (budget {budget:.2f}s): " + ", ".join(
        f"{m} SC {v['sc']:.1f} dB {v['s']:.1f}s" for m, v in per.items()), flush=True)

  notes = []
  self_check_note(results, LIN_METHODS[1:], notes)
  tables = quality_tables("B. Linear magnitude at equal time:", clips, results, LIN_METHODS,
                          "STFT magnitude")
  tables[0].notes += notes + [
      "'eng GL pghi': method='griffin_lim', init='pghi', gl_iters=100000; 'eng lbfgs pghi': "
      f"method='lbfgs', init='pghi', gl_iters={gl_iters}, lbfgs_iters={lbfgs_iters} (Griffin-Lim "
      "gets half the budget); 'eng default': defaults (init='auto' = PGHI, gl_iters=32) with "
      "lbfgs_iters=100000; 'eng GL random': method='griffin_lim', init='random', "
      "gl_iters=100000; all with time_budget = librosa's seconds"]
  extra = [(f"{m}/lib", "{:.2f}",
            (lambda m: lambda c, p: _ratio(_get(p, m, "s"), _get(p, "librosa", "s")))(m))
           for h, m in LIN_METHODS[1:]]
  tables.append(metric_table(
      "B. Linear: wall seconds (librosa's = the engine's time_budget); X/lib = engine / librosa",
      clips, results, LIN_METHODS, "s", "{:.2f}", extra,
      notes=["warm-up calls (s, tracing): " + ", ".join(f"{k} {v:.2f}" for k, v in warm.items())]))
  tables.append(work_table("B. Linear: work done by the engine in the budget", clips, results,
                           LIN_METHODS[1:]))
  return tables, results


# --------------------------------------------------------- experiment C: speed
def experiment_speed(tfspecinv, clip, env, repeats=3):
  import librosa
  cfg = tfspecinv.SpectrogramConfig.librosa(sample_rate=SR, n_fft=N_FFT, hop_length=HOP,
                                            representation="stft", power=1.0)
  cfg_mel = tfspecinv.SpectrogramConfig.librosa(sample_rate=SR, n_fft=N_FFT, hop_length=HOP,
                                                n_mels=N_MELS, fmax=FMAX, power=2.0,
                                                representation="mel")
  y, n = clip.y, len(clip.y)
  S = mag_of(y).astype(np.float32)
  M = mel_of(y).astype(np.float32)

  def best(fn, reps=repeats):
    return min(timed(fn)[1] for _ in range(reps))

  lib = lambda it: librosa.griffinlim(S, n_iter=it, hop_length=HOP, n_fft=N_FFT, length=n,
                                      random_state=0)
  ours_tf = lambda it: np.asarray(tfspecinv.griffin_lim(S, cfg, iterations=it, length=n,
                                                          jit_compile=False))
  ours_xla = lambda it: np.asarray(tfspecinv.griffin_lim(S, cfg, iterations=it, length=n,
                                                           jit_compile=True))
  print(f"[speed] {clip.name}: Griffin-Lim timings ...", flush=True)
  lib(10)
  ours_tf(10)  # warm-up (tracing)
  ours_xla(10)  # warm-up (tracing and XLA compilation)
  # Interleaved rounds, so all see the same machine load; medians of the rounds.
  rounds = []
  per_iteration = lambda fn: (timed(fn, 100)[1] - timed(fn, 10)[1]) / 90
  for _ in range(max(repeats, 5)):
    rounds.append((per_iteration(lib), per_iteration(ours_tf), per_iteration(ours_xla)))
  rounds = np.array(rounds)
  lib_it, tf_it, xla_it = np.median(rounds, axis=0)
  tf_ratio = float(np.median(rounds[:, 0] / rounds[:, 1]))
  xla_ratio = float(np.median(rounds[:, 0] / rounds[:, 2]))
  rows = []

  def lbfgs_cost(label, spec, config, **kw):
    engine_call(tfspecinv, spec, config, n, gl_iters=0, **dict(kw, lbfgs_iters=10))  # warm-up
    out = []
    for _ in range(2):
      _, r, t = engine_call(tfspecinv, spec, config, n, gl_iters=0, **kw)
      stage = r.stage_seconds.get("lbfgs", np.nan)
      out.append((stage / max(r.lbfgs_evaluations, 1), stage / max(r.lbfgs_iterations, 1),
                  r.lbfgs_evaluations, r.lbfgs_iterations))
    rows.append((label,) + min(out))

  pure = []

  def pure_cost(label, spec, config):
    """One value-and-gradient evaluation of the default loss alone, looped in one graph."""
    import tensorflow as tf
    from tfspecinv import pipeline
    eng = pipeline.engine_for(config)
    problem, runner = eng.waveform_runner("mixed", 0.5)  # What reconstruct's L-BFGS calls.
    native = tf.constant(spec.T[None])
    linear, magnitude = eng.linear_magnitude(native, tf.constant(200))
    peak = tf.reduce_max(magnitude)
    target = problem.prepare_target(linear / (peak ** 2 if config.power == 2 else peak))
    ones = tf.ones([1, 1, 1])
    x0 = tf.constant(y[None].astype(np.float32) / float(np.abs(y).max()))

    @tf.function(input_signature=[tf.TensorSpec([1, None], tf.float32),
                                  tf.TensorSpec([], tf.int32)])
    def evaluations(x, count):
      def body(i, x, total):
        value, gradient = runner._objective(x, target, ones)  # pylint: disable=protected-access
        return i + 1, x - 1e-6 * gradient, total + value[0]  # Each step depends on the last.
      return tf.while_loop(lambda i, *_: i < count, body, (0, x, 0.0))[2]

    evaluations(x0, tf.constant(2)).numpy()
    t10 = best(lambda: evaluations(x0, tf.constant(10)).numpy())
    t100 = best(lambda: evaluations(x0, tf.constant(100)).numpy())
    pure.append((label, (t100 - t10) / 90))

  run_safely("pure f+g cost (stft)", lambda: pure_cost(
      "L-BFGS objective, linear STFT: value+gradient only", S, cfg))
  run_safely("pure f+g cost (mel)", lambda: pure_cost(
      "L-BFGS objective, mel: value+gradient only", M, cfg_mel))

  print("[speed] L-BFGS timings ...", flush=True)
  run_safely("L-BFGS cost (stft)", lambda: lbfgs_cost(
      "L-BFGS, linear STFT (waveform variables)", S, cfg, method="lbfgs", lbfgs_iters=100))
  run_safely("L-BFGS cost (mel)", lambda: lbfgs_cost(
      "L-BFGS, mel (waveform variables)", M, cfg_mel, method="lbfgs", lbfgs_iters=100))
  run_safely("L-BFGS cost (joint mel)", lambda: lbfgs_cost(
      "joint L-BFGS, mel (complex-STFT variables)", M, cfg_mel, method="joint", lbfgs_iters=30))

  t = Table(f"C. Speed on {clip.name} ({clip.duration:.2f} s)",
            ["quantity", "ms", "ratio"], ["{}", "{:.3f}", "{:.2f}"])
  t.add(["librosa griffinlim, per iteration", lib_it * 1e3, np.nan])
  t.add(["tfspecinv griffin_lim, TF executor (< 200 iterations), per iteration", tf_it * 1e3,
         np.nan])
  t.add(["  ratio librosa / tfspecinv per GL iteration", np.nan, tf_ratio], kind="median")
  t.add(["tfspecinv griffin_lim, XLA loop (>= 200 iterations), per iteration", xla_it * 1e3,
         np.nan])
  t.add(["  ratio librosa / tfspecinv per GL iteration", np.nan, xla_ratio], kind="median")
  for label, per_eval in pure:
    t.add([f"{label}, per evaluation", per_eval * 1e3, np.nan])
    t.add(["  ratio evaluation / tfspecinv GL iteration (TF executor)", np.nan,
           _ratio(per_eval, tf_it)], kind="median")
    t.add(["  ratio evaluation / tfspecinv GL iteration (XLA loop)", np.nan,
           _ratio(per_eval, xla_it)], kind="median")
  for label, per_eval, per_iter, evals, iters in rows:
    t.add([f"{label}: per f+g evaluation", per_eval * 1e3, np.nan])
    t.add([f"  per L-BFGS iteration ({iters} it, {evals} evals)", per_iter * 1e3, np.nan])
    t.add(["  ratio evaluation / tfspecinv GL iteration (TF executor)", np.nan,
           _ratio(per_eval, tf_it)], kind="median")
    t.add(["  ratio evaluation / librosa GL iteration", np.nan, _ratio(per_eval, lib_it)],
          kind="median")
  t.notes.append(f"GL per iteration = (t(100 it) - t(10 it)) / 90, median of {len(rounds)} "
                 "interleaved rounds (librosa, tfspecinv TF executor, tfspecinv XLA in each); "
                 "the ratios are medians of the per-round ratios. griffin_lim and reconstruct "
                 "pick the XLA loop from 200 iterations on (jit_compile=None). Per round (ms, "
                 "librosa/TF/XLA): " + ", ".join(
                     f"{a * 1e3:.2f}/{b * 1e3:.2f}/{c * 1e3:.2f}" for a, b, c in rounds))
  t.notes.append("value+gradient only: the L-BFGS objective of reconstruct (default 'mixed' "
                 "loss and its gradient, compiled alone with XLA) evaluated "
                 "(t(100) - t(10)) / 90 times in one tf.while_loop, best of "
                 f"{repeats}: what one L-BFGS evaluation costs without TFP's line-search and "
                 "two-loop bookkeeping")
  t.notes.append("L-BFGS: reconstruct(gl_iters=0, lbfgs_iters=100 [joint: 30]) after warm-up; "
                 "stage_seconds['lbfgs'] / lbfgs_evaluations (includes the start evaluation "
                 "and chunk overhead), best of 2")
  return [t]


# ------------------------------------------------------------------------ main
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


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  add_corpus_arguments(parser)
  parser.add_argument("--experiments", default="mel,linear,speed",
                      help="comma-separated subset of mel,linear,speed")
  parser.add_argument("--gl-iters", type=int, default=2000,
                      help="B: gl_iters of the 'eng lbfgs pghi' run")
  parser.add_argument("--lbfgs-iters", type=int, default=2000,
                      help="B: lbfgs_iters of the 'eng lbfgs pghi' run")
  parser.add_argument("--librosa-iters", type=int, default=300, help="B: librosa n_iter")
  args = parser.parse_args(argv)

  experiments = [e.strip() for e in args.experiments.split(",") if e.strip()]
  unknown = set(experiments) - {"mel", "linear", "speed"}
  if unknown:
    parser.error(f"unknown experiments {sorted(unknown)}; use mel, linear, speed")

  paths, selected = select_paths(parser, args)
  if not selected and experiments != ["speed"]:
    parser.error(f"--clips {args.clips!r} matches none of {len(paths)} clips")

  t0 = time.perf_counter()
  import tfspecinv  # noqa: E402
  from tfspecinv import pipeline  # noqa: E402,F401  (timed: TensorFlow and TFP load here)
  import_s = time.perf_counter() - t0
  import librosa
  import tensorflow as tf

  env = {"import_s": import_s}
  header = [
      "# tfspecinv reconstruction benchmark",
      "",
      *machine_lines(tf, tfspecinv, librosa),
      f"- corpus {args.corpus}; {SR} Hz, n_fft {N_FFT}, hop {HOP}; inputs made by librosa; "
      f"clips truncated to {args.max_seconds} s" if args.max_seconds else
      f"- corpus {args.corpus}; {SR} Hz, n_fft {N_FFT}, hop {HOP}; inputs made by librosa",
  ]
  if _pesq is None:
    note(f"pesq not importable ({_PESQ_ERROR}); PESQ columns skipped")
  if _stoi is None:
    note(f"pystoi not importable ({_STOI_ERROR}); STOI columns skipped")
  print("\n".join(header), flush=True)
  print(f"import tfspecinv: {import_s:.2f} s", flush=True)

  # Cross-check this script's LSD with the package's (same definition).
  rng = np.random.default_rng(0)
  p_a, p_b = rng.gamma(0.5, size=(2, 80, 50)) ** 4
  ours = lsd_db(p_a, p_b)
  theirs = run_safely("tfspecinv.log_spectral_distance", lambda: float(
      tfspecinv.log_spectral_distance(p_a, p_b, power=2.0, floor=LSD_FLOOR)))
  if theirs is not None and abs(ours - theirs) > 1e-6 * max(1.0, abs(ours)):
    note(f"LSD mismatch: this script {ours:.6f} dB, tfspecinv.log_spectral_distance "
         f"{theirs:.6f} dB on random powers")

  clips = [Clip(p, args.max_seconds) for p in selected]
  # Real clips first, synthetic last (the tables group them the same way).
  clips.sort(key=lambda c: (c.synthetic, c.name))
  if clips:
    print(f"{len(clips)} clips: " + ", ".join(c.label for c in clips), flush=True)

  markdown = []
  for name in experiments:
    started = time.perf_counter()
    if name == "mel" and clips:
      out = run_safely("experiment mel", lambda: experiment_mel(tfspecinv, clips, env))
      tables = out[0] if out else []
    elif name == "linear" and clips:
      out = run_safely("experiment linear", lambda: experiment_linear(
          tfspecinv, clips, env, args.gl_iters, args.lbfgs_iters, args.librosa_iters))
      tables = out[0] if out else []
    elif name == "speed":
      lj = [p for p in paths if "LJ001" in os.path.basename(p)]
      path = lj[0] if lj else (selected or paths)[0]
      clip = next((c for c in clips if c.path == path), None) or Clip(path, args.max_seconds)
      tables = run_safely("experiment speed", lambda: experiment_speed(tfspecinv, clip, env)) \
          or []
    else:
      tables = []
    emit(tables)
    if tables:
      lines = header + [f"- experiment '{name}' took {time.perf_counter() - started:.0f} s"]
      path, text = write_markdown(args.results_dir, name, lines, tables)
      print(f"\n(markdown written to {path})", flush=True)
      markdown.append(text)

  if NOTES:
    print("\nNotes:")
    for n in NOTES:
      print(f"- {n}")
  print("\n" + "=" * 30 + " markdown " + "=" * 30)
  print("\n\n".join(markdown))
  return 0


if __name__ == "__main__":
  sys.exit(main())

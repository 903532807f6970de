#!/usr/bin/env python
"""Benchmark tfspecinv MFCC inversion against librosa's mfcc_to_audio on the shared corpus.

For each clip of the corpus (loaded with `librosa.load(sr=22050)`) and each
K in --n_mfcc (default 40 and 80 coefficients of 128 mel bands):

  M = librosa.feature.melspectrogram(y=y, sr=22050, n_fft=1024, hop_length=256, n_mels=128)
  C = librosa.feature.mfcc(S=librosa.power_to_db(M), n_mfcc=K)

(Slaney mels, fmax = sr/2, power 2, power_to_db with ref 1 and top_db 80,
ortho DCT-II, lifter 0: librosa's defaults), then

  baseline  librosa.feature.inverse.mfcc_to_audio(C, n_mels=128, sr=22050, n_fft=1024,
                                                   hop_length=256, length=len(y))
            (its default 32 Griffin-Lim iterations; unseeded random phase)
  engine    tfspecinv.reconstruct(C, SpectrogramConfig.librosa(sample_rate=22050,
                n_fft=1024, hop_length=256, n_mels=128, n_mfcc=K,
                representation='mfcc', scale='db'), length=len(y))   (defaults)

Metrics per clip, computed here in float64 from the returned waveform:
  MFCC SC  20 log10(||C_hat - C||_F / ||C||_F), C_hat by the same librosa calls;
  mel SC   the same for the mel power spectrogram (M_hat vs M);
  PESQ-WB  both signals resampled to 16 kHz (skipped with a note if `pesq` is
           missing or raises on a clip);
  STOI     pystoi at 22050 Hz, if it imports;
  seconds  wall time of the call, with the engine already traced (a warm-up
           call on a 1 s clip per K, whose time is reported).

`synthetic_*` clips are listed apart (marked `*`); medians are given over the
real clips and over all clips. A one-line verdict per K says whether the
engine's medians beat librosa's on MFCC SC, mel SC and PESQ.

Run from the repository root:

  PYTHONPATH=. python bench/mfcc_bench.py
  PYTHONPATH=. python bench/mfcc_bench.py --clips 'speech_*' --n_mfcc 40 --max_seconds 3

Tables are printed as aligned text; the markdown goes to bench/results/mfcc.md
and is printed again at the end.
"""

import argparse
import fnmatch
import glob
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_BENCH = os.path.dirname(os.path.abspath(__file__))
_REPO = os.path.dirname(_BENCH)
for _p in (_REPO, _BENCH):
  if _p not in sys.path:
    sys.path.insert(0, _p)

import numpy as np  # noqa: E402

# Shared helpers (Clip loading, PESQ/STOI, tables, notes, markdown); importing it
# runs nothing but optional `pesq`/`pystoi` imports.
import benchlib as rb  # noqa: E402

SR = rb.SR  # 22050
N_FFT = 1024
HOP = 256
N_MELS = 128
SHORT_SECONDS = 1.0  # Warm-up clip length.

METHODS = [("librosa m2a", "librosa"), ("engine", "engine")]
note = rb.note


# --------------------------------------------------------------------- features
def mel_of(y):
  """librosa mel power spectrogram (128 Slaney bands, fmax sr/2, power 2), float64."""
  import librosa
  return librosa.feature.melspectrogram(y=np.asarray(y, np.float64), sr=SR, n_fft=N_FFT,
                                        hop_length=HOP, n_mels=N_MELS)


def mfcc_of_mel(mel, n_mfcc):
  """librosa defaults: power_to_db (ref 1, amin 1e-10, top_db 80), ortho DCT-II, lifter 0."""
  import librosa
  return librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=n_mfcc)


def implied_mel_sc(M, C):
  """SC (dB) of `librosa.feature.inverse.mfcc_to_mel(C)` vs M: the smooth mel that C
  describes (first stage of mfcc_to_audio), a reference for how much the MFCC truncation
  alone costs in mel SC. Not a bound: a waveform can land nearer M."""
  import librosa
  return rb.sc_db(librosa.feature.inverse.mfcc_to_mel(C, n_mels=N_MELS), M)


def engine_config(tfspecinv, n_mfcc):
  return tfspecinv.SpectrogramConfig.librosa(sample_rate=SR, n_fft=N_FFT, hop_length=HOP,
                                             n_mels=N_MELS, n_mfcc=n_mfcc,
                                             representation="mfcc", scale="db")


def librosa_invert(C, length):
  import librosa
  return librosa.feature.inverse.mfcc_to_audio(C, n_mels=N_MELS, sr=SR, n_fft=N_FFT,
                                               hop_length=HOP, length=length)


def engine_invert(tfspecinv, C, cfg, length):
  return tfspecinv.reconstruct(C, cfg, length=length)


def score(clip, waveform, seconds, M, C, extra=None):
  waveform = rb.checked_waveform(clip, waveform)
  M_hat = mel_of(waveform)
  C_hat = mfcc_of_mel(M_hat, C.shape[0])
  row = {"mfcc_sc": rb.sc_db(C_hat, C), "mel_sc": rb.sc_db(M_hat, M), "s": seconds,
         "rtf": seconds / clip.duration, "peak": float(np.max(np.abs(waveform)))}
  row["pesq"], row["stoi"] = rb.perceptual(clip, waveform)
  row.update(extra or {})
  return row


def engine_extra(result):
  return {"stop": result.stop_reason, "gl_it": result.gl_iterations,
          "lb_it": result.lbfgs_iterations, "evals": result.lbfgs_evaluations,
          "domain": result.domain,
          "self_sc": float(np.ravel(result.spectral_convergence_db)[0]),
          "stages": dict(result.stage_seconds or {})}


# --------------------------------------------------------------------- medians
def _groups(clips, results):
  real = [c for c in clips if not c.synthetic and c.name in results]
  synth = [c for c in clips if c.synthetic and c.name in results]
  return (("real", real), ("all", real + synth))


def median_of(group, results, method, key):
  values = np.array([results[c.name].get(method, {}).get(key, np.nan) for c in group],
                    np.float64)
  finite = np.isfinite(values)
  return (float(np.median(values[finite])) if finite.any() else np.nan), int(finite.sum())


# ---------------------------------------------------------------------- tables
def tables_for_k(k, clips, results, warm):
  prefix = f"K={k}:"
  diff_note = ("eng-lib: engine minus librosa per clip; on the median rows it is the median "
               "of those differences, not the difference of the medians")
  tables = [
      rb.metric_table(f"{prefix} MFCC spectral convergence, dB (lower is better)", clips,
                      results, METHODS, "mfcc_sc", "{:.2f}",
                      [("eng-lib", "{:+.2f}", lambda c, p: rb.metric(p, "engine", "mfcc_sc") -
                        rb.metric(p, "librosa", "mfcc_sc"))]),
      rb.metric_table(f"{prefix} mel spectral convergence (128-band power), dB "
                      "(lower is better)", clips, results, METHODS, "mel_sc", "{:.2f}",
                      [("eng-lib", "{:+.2f}", lambda c, p: rb.metric(p, "engine", "mel_sc") -
                        rb.metric(p, "librosa", "mel_sc")),
                       ("mfcc_to_mel", "{:.2f}",
                        lambda c, p: rb.metric(p, "librosa", "implied_mel_sc"))],
                      notes=["mfcc_to_mel: SC of librosa.feature.inverse.mfcc_to_mel(C) vs M, "
                             "the smooth mel C describes (a reference for the information the "
                             "truncation to K coefficients loses, not a bound)"]),
  ]
  if rb.pesq_fn is not None:
    tables.append(rb.metric_table(
        f"{prefix} PESQ-WB (16 kHz; higher is better)", clips, results, METHODS, "pesq",
        "{:.2f}", [("eng-lib", "{:+.2f}", lambda c, p: rb.metric(p, "engine", "pesq") -
                    rb.metric(p, "librosa", "pesq"))],
        notes=["PESQ is a speech measure: read the music and environmental rows with care"]))
  if rb.stoi_fn is not None:
    tables.append(rb.metric_table(
        f"{prefix} STOI (higher is better)", clips, results, METHODS, "stoi", "{:.3f}",
        [("eng-lib", "{:+.3f}", lambda c, p: rb.metric(p, "engine", "stoi") -
          rb.metric(p, "librosa", "stoi"))]))
  diffs = [abs(per["engine"]["self_sc"] - per["engine"]["mfcc_sc"])
           for per in results.values() if "engine" in per and np.isfinite(
               per["engine"].get("self_sc", np.nan))]
  tables[0].notes.append(diff_note)
  if diffs:
    tables[0].notes.append(
        f"engine-reported result.spectral_convergence_db vs this script's MFCC SC: max |diff| "
        f"= {max(diffs):.3f} dB over {len(diffs)} clips")
  time_notes = [f"warm timings (tracing excluded); warm-up on a {SHORT_SECONDS:g} s clip: " +
                ", ".join(f"{m} {v:.2f}s" for m, v in warm.items())]
  tables.append(rb.metric_table(
      f"{prefix} wall seconds; eng/dur = engine time / clip duration; eng/lib = engine / "
      "librosa time", clips, results, METHODS, "s", "{:.2f}",
      [("eng/dur", "{:.2f}", lambda c, p: rb.metric(p, "engine", "rtf")),
       ("eng/lib", "{:.2f}", lambda c, p: rb.ratio(rb.metric(p, "engine", "s"),
                                                    rb.metric(p, "librosa", "s")))],
      notes=time_notes))
  work = rb.Table(f"{prefix} work done by the engine",
                  ["clip", "stop", "domain", "GL it", "L-BFGS it", "evals", "prepare s",
                   "GL s", "L-BFGS s"],
                  ["{}", "{}", "{}", "{:.0f}", "{:.0f}", "{:.0f}", "{:.2f}", "{:.2f}", "{:.2f}"])
  for c in clips:
    r = results.get(c.name, {}).get("engine")
    if not r:
      continue
    st = r.get("stages", {})
    work.add([c.label, str(r["stop"]), str(r["domain"]), float(r["gl_it"]), float(r["lb_it"]),
              float(r["evals"]), st.get("prepare", np.nan), st.get("griffin_lim", np.nan),
              st.get("lbfgs", np.nan)])
  tables.append(work)
  return tables


# Median differences smaller than these are flagged "near-tie" in the verdicts
# (librosa's unseeded Griffin-Lim moves its medians by about this much between runs).
TIE = {"mfcc_sc": 0.1, "mel_sc": 0.1, "pesq": 0.03}

# metric key, header, better ('lower'/'higher'), format, part of the verdict
METRICS = [("mfcc_sc", "MFCC SC dB", "lower", "{:.2f}", True),
           ("mel_sc", "mel SC dB", "lower", "{:.2f}", True),
           ("pesq", "PESQ-WB", "higher", "{:.2f}", True),
           ("stoi", "STOI", "higher", "{:.3f}", False),
           ("s", "seconds", "lower", "{:.2f}", False)]


def summary_and_verdicts(ks, clips, all_results):
  metrics = [m for m in METRICS if not (m[0] == "pesq" and rb.pesq_fn is None) and
             not (m[0] == "stoi" and rb.stoi_fn is None)]
  table = rb.Table("Medians per K and method (real clips; all clips incl. synthetic)",
                   ["K / method / clips"] + [m[1] for m in metrics],
                   ["{}"] + [m[3] for m in metrics])
  verdicts = []
  for k in ks:
    results = all_results.get(k, {})
    table.group(f"n_mfcc = {k}")
    for group_name, group in _groups(clips, results):
      for header, method in METHODS:
        cells = [median_of(group, results, method, key)[0] for key, *_ in metrics]
        table.add([f"{header} ({group_name}, n={len(group)})"] + cells,
                  kind="median" if method == "engine" else "row")
    parts, overall = [], True
    for key, header, better, fmt, in_verdict in metrics:
      if not in_verdict:
        continue
      sub, wins = [], []
      for group_name, group in _groups(clips, results):
        e, ne = median_of(group, results, "engine", key)
        l, nl = median_of(group, results, "librosa", key)
        if not (np.isfinite(e) and np.isfinite(l)):
          sub.append(f"{group_name} n/a")
          wins.append(False)
          continue
        wins.append(bool(e < l if better == "lower" else e > l))
        counts = "" if ne == nl == len(group) else f" [n eng {ne}, lib {nl}]"
        pairs = [(results[c.name].get("engine", {}).get(key, np.nan),
                  results[c.name].get("librosa", {}).get(key, np.nan)) for c in group]
        pairs = [(a, b) for a, b in pairs if np.isfinite(a) and np.isfinite(b)]
        better_on = sum((a < b) if better == "lower" else (a > b) for a, b in pairs)
        close = " NEAR-TIE" if abs(e - l) < TIE.get(key, 0.0) else ""
        sub.append(f"{group_name} {e:.3f} vs {l:.3f}{close}{counts}, engine better "
                   f"on {better_on}/{len(pairs)} clips")
      overall = overall and all(wins)
      parts.append(f"{header} {'better' if all(wins) else 'NOT better'} "
                   f"(eng vs lib: {'; '.join(sub)})")
    if rb.pesq_fn is None:
      overall = False
      parts.append("PESQ n/a (pesq not importable)")
    verdicts.append(f"K={k}: engine median beats librosa on MFCC SC, mel SC and PESQ "
                    f"(real and all clips): {'YES' if overall else 'NO'} -- " + "; ".join(parts))
  table.notes.append("verdicts compare unrounded medians (3 decimals shown); NEAR-TIE: "
                     "|difference| below " + ", ".join(f"{k} {v:g}" for k, v in TIE.items()) +
                     ", within the run-to-run spread of librosa's unseeded Griffin-Lim")
  table.notes.append("engine rows are in bold in the markdown; SC lower is better, "
                     "PESQ/STOI higher is better")
  return table, verdicts


# ------------------------------------------------------------------------ main
def run_k(tfspecinv, k, clips, mels):
  cfg = engine_config(tfspecinv, k)
  warm = {}
  short = clips[0].y[:int(SHORT_SECONDS * SR)]
  Cs = mfcc_of_mel(mel_of(short), k)
  res = rb.run_safely(f"K={k} engine warm-up", lambda: rb.timed(
      engine_invert, tfspecinv, Cs, cfg, len(short)))
  if res:
    warm["engine (first call, tracing)"] = res[1]
    res2 = rb.run_safely(f"K={k} engine warm-up 2", lambda: rb.timed(
        engine_invert, tfspecinv, Cs, cfg, len(short)))
    if res2:
      warm["engine (second call)"] = res2[1]
  res = rb.run_safely(f"K={k} librosa warm-up", lambda: rb.timed(librosa_invert, Cs, len(short)))
  if res:
    warm["librosa"] = res[1]
  print(f"[K={k}] warm-up on {SHORT_SECONDS:g} s of {clips[0].name}: " +
        ", ".join(f"{m} {v:.2f}s" for m, v in warm.items()), flush=True)

  results = {}
  for i, clip in enumerate(clips):
    M = mels[clip.name]
    C = mfcc_of_mel(M, k)
    per = results.setdefault(clip.name, {})
    out = rb.run_safely(f"K={k} librosa on {clip.name}",
                        lambda: rb.timed(librosa_invert, C, len(clip.y)))
    if out:
      per["librosa"] = score(clip, out[0], out[1], M, C)
      per["librosa"]["implied_mel_sc"] = implied_mel_sc(M, C)
    out = rb.run_safely(f"K={k} engine on {clip.name}",
                        lambda: rb.timed(engine_invert, tfspecinv, C, cfg, len(clip.y)))
    if out:
      (waveform, result), seconds = out
      per["engine"] = score(clip, waveform, seconds, M, C, engine_extra(result))
    print(f"[K={k}] {i + 1}/{len(clips)} {clip.name} ({clip.duration:.1f}s): " + ", ".join(
        f"{m}: MFCC {v['mfcc_sc']:.1f} mel {v['mel_sc']:.1f} dB PESQ {v['pesq']:.2f} "
        f"{v['s']:.1f}s" for m, v in per.items()), flush=True)
  return results, warm


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  rb.add_corpus_arguments(parser)
  parser.add_argument("--n_mfcc", default="40,80",
                      help="comma-separated MFCC counts (of 128 mels), default 40,80")
  args = parser.parse_args(argv)

  try:
    ks = [int(k) for k in args.n_mfcc.split(",") if k.strip()]
  except ValueError:
    parser.error(f"--n_mfcc {args.n_mfcc!r}: give comma-separated integers, e.g. 40,80")
  if not ks or any(not 1 <= k <= N_MELS for k in ks):
    parser.error(f"--n_mfcc {args.n_mfcc!r}: each value must be between 1 and {N_MELS}")

  paths = sorted(glob.glob(os.path.join(args.corpus, "*.wav")))
  if not paths:
    parser.error(f"no .wav files in {args.corpus}")
  if args.clips:
    patterns = [p.strip() for p in args.clips.split(",") if p.strip()]
    paths = [p for p in paths if any(
        fnmatch.fnmatch(os.path.basename(p), pat) or
        fnmatch.fnmatch(os.path.splitext(os.path.basename(p))[0], pat) for pat in patterns)]
    if not paths:
      parser.error(f"--clips {args.clips!r} matches no clip in {args.corpus}")

  started = time.perf_counter()
  t0 = time.perf_counter()
  import tfspecinv
  from tfspecinv import pipeline  # noqa: F401  (TensorFlow and TFP load here)
  import_s = time.perf_counter() - t0
  import librosa
  import tensorflow as tf

  header = [
      "# tfspecinv MFCC inversion benchmark",
      "",
      *rb.machine_lines(tf, tfspecinv, librosa),
      f"- corpus {args.corpus}; {SR} Hz, n_fft {N_FFT}, hop {HOP}, {N_MELS} Slaney mels "
      f"(fmax sr/2), power 2, power_to_db(top_db=80), ortho DCT-II, lifter 0; n_mfcc "
      f"{', '.join(map(str, ks))}" + (f"; clips truncated to {args.max_seconds:g} s"
                                      if args.max_seconds else ""),
      "- baseline: `librosa.feature.inverse.mfcc_to_audio` (32 GL iterations, unseeded "
      "random phase); engine: `tfspecinv.reconstruct(C, cfg, length=len(y))` with defaults",
      "- inputs M and C are computed in float64 from the float32 samples of librosa.load; "
      "outputs are scored by the same librosa calls",
  ]
  if rb.pesq_fn is None:
    note(f"pesq not importable ({rb.PESQ_ERROR}); PESQ skipped")
  if rb.stoi_fn is None:
    note(f"pystoi not importable ({rb.STOI_ERROR}); STOI skipped")
  print("\n".join(header), flush=True)
  print(f"import tfspecinv (incl. TensorFlow): {import_s:.2f} s", flush=True)

  clips = [rb.Clip(p, args.max_seconds) for p in paths]
  clips.sort(key=lambda c: (c.synthetic, c.name))
  print(f"{len(clips)} clips: " + ", ".join(c.label for c in clips), flush=True)
  mels = {c.name: mel_of(c.y) for c in clips}

  all_results, tables = {}, []
  for k in ks:
    t_k = time.perf_counter()
    out = rb.run_safely(f"K={k}", lambda: run_k(tfspecinv, k, clips, mels))
    if not out:
      continue
    all_results[k], warm = out
    k_tables = tables_for_k(k, clips, all_results[k], warm)
    k_tables[0].notes.append(f"K={k} took {time.perf_counter() - t_k:.0f} s in all")
    rb.emit(k_tables)
    tables += k_tables

  summary, verdicts = summary_and_verdicts(ks, clips, all_results)
  rb.emit([summary])
  print()
  for v in verdicts:
    print(v, flush=True)
  summary.notes += ["verdicts:"] + verdicts

  lines = header + [f"- import tfspecinv {import_s:.2f} s; whole run "
                    f"{time.perf_counter() - started:.0f} s"]
  path, text = rb.write_markdown(args.results_dir, "mfcc", lines, [summary] + tables)
  print(f"\n(markdown written to {path})", flush=True)
  if rb.NOTES:
    print("\nNotes:")
    for n in rb.NOTES:
      print(f"- {n}")
  print("\n" + "=" * 30 + " markdown " + "=" * 30)
  print(text)
  return 0


if __name__ == "__main__":
  sys.exit(main())

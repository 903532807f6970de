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
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from benchlib import (  # noqa: E402
    Clip, FMAX, HOP, LSD_FLOOR, NOTES, N_FFT, N_MELS, PESQ_ERROR, SHORT_SECONDS, SR, STOI_ERROR,
    Table, add_corpus_arguments, emit, engine_call, engine_extra, lsd_db, machine_lines, mag_of,
    mel_of, metric, metric_table, note, pesq_fn, quality_tables, ratio, run_safely, sc_db, score,
    select_paths, self_check_note, stoi_fn, timed, work_table, write_markdown,
)


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
  extra = [(f"{m}/dur", "{:.2f}", (lambda m: lambda c, p: metric(p, m, "rtf"))(m))
           for h, m in MEL_METHODS[1:]]
  extra += [(f"{m}/lib", "{:.2f}",
             (lambda m: lambda c, p: ratio(metric(p, m, "s"), metric(p, "librosa", "s")))(m))
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
            (lambda m: lambda c, p: ratio(metric(p, m, "s"), metric(p, "librosa", "s")))(m))
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
           ratio(per_eval, tf_it)], kind="median")
    t.add(["  ratio evaluation / tfspecinv GL iteration (XLA loop)", np.nan,
           ratio(per_eval, xla_it)], kind="median")
  for label, per_eval, per_iter, evals, iters in rows:
    t.add([f"{label}: per f+g evaluation", per_eval * 1e3, np.nan])
    t.add([f"  per L-BFGS iteration ({iters} it, {evals} evals)", per_iter * 1e3, np.nan])
    t.add(["  ratio evaluation / tfspecinv GL iteration (TF executor)", np.nan,
           ratio(per_eval, tf_it)], kind="median")
    t.add(["  ratio evaluation / librosa GL iteration", np.nan, ratio(per_eval, lib_it)],
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
def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  add_corpus_arguments(parser)
  parser.add_argument("--experiments", default="mel,linear,speed",
                      help="comma-separated subset of mel,linear,speed")
  parser.add_argument("--gl_iters", type=int, default=2000,
                      help="B: gl_iters of the 'eng lbfgs pghi' run")
  parser.add_argument("--lbfgs_iters", type=int, default=2000,
                      help="B: lbfgs_iters of the 'eng lbfgs pghi' run")
  parser.add_argument("--librosa_iters", type=int, default=300, help="B: librosa n_iter")
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
  if pesq_fn is None:
    note(f"pesq not importable ({PESQ_ERROR}); PESQ columns skipped")
  if stoi_fn is None:
    note(f"pystoi not importable ({STOI_ERROR}); STOI columns skipped")
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

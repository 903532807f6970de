r"""Accelerated Griffin-Lim (AGLA) against fast Griffin-Lim (FGLA): quality per iteration, cost.

For every real corpus clip (the `synthetic_*` espeak clips are skipped), cut to
`--max_seconds` (default 3 s) at 22050 Hz, the target is librosa's STFT
magnitude (n_fft 1024, hop 256, power 1: `benchlib.mag_of`). tfspecinv's
`phase.GriffinLim` (XLA loop, `jit_compile=True`) inverts it with

  FGLA            `algorithm='fgla'`, momentum 0.99;
  AGLA default    `algorithm='agla'`, `phase.AGLA_PARAMETERS` (alpha, beta, gamma);
  AGLA 0.99/1/1.3 `algorithm='agla'`, `agla=(0.99, 1.0, 1.3)`;

each from the PGHI start (`init='pghi'`) and from a random start
(`init='random'`, seed 0), scored after 30, 100, 300 and 500 iterations (one
run per clip and setting, continued from its state between the counts: the
same as separate runs, which the script checks once against
`tfspecinv.griffin_lim`). Scores, in float64 with librosa, of the output
waveform: spectral convergence (SC) of |STFT(output)| against the target and
log-spectral distance (LSD) of the powers. `librosa.griffinlim` (300
iterations, momentum 0.99, random start, random_state 0) runs in the same run
as the baseline (SC, LSD, wall time).

Cost: the per-iteration time of each AGLA setting over FGLA on one clip
(`--timing_clip`, default the first real clip), XLA loop, already compiled:
`--timing_repeats` rounds of `--timing_iterations` iterations per setting,
the order of the settings rotated every round; the ratio is the median of the
per-round ratios (the machine is shared, so only the paired ratio means much).

Run from the repository root (about 2 minutes on 2 cores):

  PYTHONPATH=. python bench/agla_bench.py
  PYTHONPATH=. python bench/agla_bench.py --clips 'speech_*' --max_seconds 2

Writes bench/results/agla.md (command, commit, machine, versions, tables).
"""

import argparse
import os
import sys
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
  sys.path.insert(0, _HERE)

import numpy as np  # noqa: E402

import benchlib as bl  # noqa: E402

SR, N_FFT, HOP = bl.SR, bl.N_FFT, bl.HOP
COUNTS = (30, 100, 300, 500)
STARTS = (("pghi", "PGHI start"), ("random", "random start"))
LIBROSA_ITERATIONS = 300
MOMENTUM = 0.99
SHORT = {"fgla": "FGLA", "agla": "AGLA def.", "agla13": "AGLA 1.0/1.3"}


def settings(phase):
  """(label, key, algorithm, agla parameters or None)."""
  return [("FGLA (momentum 0.99)", "fgla", "fgla", None),
          (f"AGLA default {tuple(phase.AGLA_PARAMETERS)}", "agla", "agla",
           tuple(phase.AGLA_PARAMETERS)),
          ("AGLA (0.99, 1.0, 1.3)", "agla13", "agla", (0.99, 1.0, 1.3))]


def advance(runner, mag, state, iterations, length, params):
  if params is None:
    return runner.run(mag, state, iterations, MOMENTUM, length=length)
  return runner.run(mag, state, iterations, length=length, agla=params)


def sync(state):
  state.angles.numpy()
  return state


def scores(waveform, target, n):
  waveform = np.asarray(waveform, np.float64).reshape(-1)[:n]
  if not np.all(np.isfinite(waveform)):
    bl.note("non-finite samples in an output; replaced by 0 for scoring")
    waveform = np.nan_to_num(waveform)
  estimate = bl.mag_of(waveform)
  return {"sc": bl.sc_db(estimate, target), "lsd": bl.lsd_db(estimate ** 2, target ** 2)}


def run_clip(tf, runners, setting_list, clip, counts):
  """{method key: {count: {'sc', 'lsd', 's'}}}, plus the librosa baseline under 'librosa'."""
  import librosa
  target = bl.mag_of(clip.y)
  n = len(clip.y)
  mag = tf.constant(target.T[None].astype(np.float32))  # [1, frames, bins]
  out = {}
  for init, _ in STARTS:
    starts = {}
    for _, key, algorithm, params in setting_list:
      runner = runners[algorithm]
      if algorithm not in starts:
        t0 = time.perf_counter()
        starts[algorithm] = sync(runner.start(mag, init=init, seed=0))
        out.setdefault(f"start/{init}", {})[algorithm] = time.perf_counter() - t0
      state, done, seconds, per = starts[algorithm], 0, 0.0, {}
      for count in counts:
        t0 = time.perf_counter()
        state = sync(advance(runner, mag, state, count - done, n, params))
        seconds += time.perf_counter() - t0
        done = count
        row = scores(runner.waveform(mag, state, n).numpy()[0], target, n)
        row["s"] = seconds
        per[count] = row
      out[f"{key}/{init}"] = per
  t0 = time.perf_counter()
  baseline = librosa.griffinlim(target.astype(np.float32), n_iter=LIBROSA_ITERATIONS,
                                hop_length=HOP, n_fft=N_FFT, length=n, momentum=MOMENTUM,
                                init="random", random_state=0)
  seconds = time.perf_counter() - t0
  row = scores(baseline, target, n)
  row["s"] = seconds
  out["librosa"] = {LIBROSA_ITERATIONS: row}
  return out


def check_chunking(tf, tfspecinv, runners, clip, params):
  """Max |sample difference| of a 30+70 run against `griffin_lim(iterations=100)` (AGLA, PGHI)."""
  target = bl.mag_of(clip.y)
  n = len(clip.y)
  mag = tf.constant(target.T[None].astype(np.float32))
  runner = runners["agla"]
  state = runner.start(mag, init="pghi", seed=0)
  state = advance(runner, mag, state, 30, n, params)
  state = advance(runner, mag, state, 70, n, params)
  chunked = runner.waveform(mag, state, n).numpy()[0]
  whole = tfspecinv.griffin_lim(target.astype(np.float32), runner.config, iterations=100,
                                init="pghi", seed=0, length=n, jit_compile=True,
                                algorithm="agla", agla=params)
  whole = np.asarray(whole).reshape(-1)
  return float(np.max(np.abs(chunked - whole)) / max(np.max(np.abs(whole)), 1e-30))


def timing(tf, runners, setting_list, clip, iterations, repeats):
  """{key: [ms per iteration per round]} and {key: [ratio to FGLA per round]}."""
  target = bl.mag_of(clip.y)
  n = len(clip.y)
  mag = tf.constant(target.T[None].astype(np.float32))
  states = {}
  for _, key, algorithm, params in setting_list:
    states[key] = sync(runners[algorithm].start(mag, init="pghi", seed=0))
    sync(advance(runners[algorithm], mag, states[key], 5, n, params))  # Warm.
  ms = {key: [] for _, key, _, _ in setting_list}
  ratios = {key: [] for _, key, _, _ in setting_list}
  for rep in range(repeats):
    order = setting_list[rep % len(setting_list):] + setting_list[:rep % len(setting_list)]
    if rep % 2:
      order = order[::-1]
    got = {}
    for _, key, algorithm, params in order:
      t0 = time.perf_counter()
      sync(advance(runners[algorithm], mag, states[key], iterations, n, params))
      got[key] = (time.perf_counter() - t0) * 1e3 / iterations
      ms[key].append(got[key])
    for key in got:
      ratios[key].append(got[key] / got["fgla"])
  return ms, ratios


def median(values):
  values = [v for v in values if np.isfinite(v)]
  return float(np.median(values)) if values else np.nan


def summary_tables(clips, results, setting_list, counts):
  names = [c.name for c in clips]
  tables = []
  for metric, title in (("sc", "spectral convergence of |STFT(output)|, dB"),
                        ("lsd", "log-spectral distance, dB")):
    headers = ["setting"] + [f"{c} it" for c in counts]
    table = bl.Table(f"Median {title} over {len(clips)} real clips (lower is better)",
                     headers, ["{}"] + ["{:.2f}"] * len(counts))
    for init, start_label in STARTS:
      table.group(start_label)
      for label, key, _, _ in setting_list:
        table.add([label] + [median([results[n][f"{key}/{init}"][c][metric] for n in names])
                             for c in counts])
      for label, key, _, _ in setting_list[1:]:
        table.add([f"{SHORT[key]} - FGLA, median per clip"] +
                  [median([results[n][f"{key}/{init}"][c][metric] -
                           results[n][f"fgla/{init}"][c][metric] for n in names])
                   for c in counts])
      best = []  # Paired: the setting with the most negative median per-clip diff to FGLA.
      for c in counts:
        diffs = {SHORT[key]: median([results[n][f"{key}/{init}"][c][metric] -
                                     results[n][f"fgla/{init}"][c][metric] for n in names])
                 for _, key, _, _ in setting_list}
        best.append(min(diffs, key=diffs.get))
      table.add(["best (paired, median per-clip diff)"] + best)
    lib = [median([results[n]["librosa"][LIBROSA_ITERATIONS][metric] for n in names])
           if c == LIBROSA_ITERATIONS else np.nan for c in counts]
    table.group("baseline")
    table.add([f"librosa.griffinlim, {LIBROSA_ITERATIONS} it (random start)"] + lib)
    wins = []
    for init, start_label in STARTS:
      for label, key, _, _ in setting_list[1:]:
        per = [sum(results[n][f"{key}/{init}"][c][metric] < results[n][f"fgla/{init}"][c][metric]
                   for n in names) for c in counts]
        wins.append(f"{start_label}, {SHORT[key]}: lower than FGLA on "
                    + ", ".join(f"{w}/{len(names)}" for w in per) + " clips at "
                    + "/".join(str(c) for c in counts) + " it")
    table.notes = wins
    tables.append(table)
  return tables


def per_clip_table(clips, results, setting_list, count):
  methods = []
  for init, _ in STARTS:
    for label, key, _, _ in setting_list:
      methods.append((f"{SHORT[key]} {init}", f"{key}/{init}"))
  flat = {c.name: {m: results[c.name][m][count] for _, m in methods} for c in clips}
  extra = ()
  if count == LIBROSA_ITERATIONS:
    for c in clips:
      flat[c.name]["librosa"] = results[c.name]["librosa"][LIBROSA_ITERATIONS]
    methods.append((f"librosa GL{LIBROSA_ITERATIONS}", "librosa"))
    extra = (("librosa s", "{:.2f}", lambda clip, per: per.get("librosa", {}).get("s", np.nan)),)
  return bl.metric_table(f"Spectral convergence after {count} iterations per clip, dB "
                         "(lower is better)", clips, flat, methods, "sc", "{:.2f}", extra)


def time_table(clips, results, setting_list, ms, ratios, timing_clip, iterations, repeats,
               compile_s, check):
  names = [c.name for c in clips]
  table = bl.Table(
      f"Cost: per-iteration time, XLA loop, {timing_clip.name} ({timing_clip.duration:.1f} s), "
      f"{repeats} interleaved rounds of {iterations} iterations",
      ["setting", "ms/it median", "ms/it min", "ratio to FGLA (median)", "ratio IQR",
       "corpus s for 300 it (PGHI, median)"],
      ["{}", "{:.2f}", "{:.2f}", "{:.3f}", "{}", "{:.2f}"])
  for label, key, _, _ in setting_list:
    r = ratios[key]
    table.add([label, median(ms[key]), float(np.min(ms[key])), median(r),
               f"{np.percentile(r, 25):.3f}-{np.percentile(r, 75):.3f}",
               median([results[n][f"{key}/pghi"][LIBROSA_ITERATIONS]["s"] for n in names])])
  table.add([f"librosa.griffinlim {LIBROSA_ITERATIONS} it (corpus median)", np.nan, np.nan,
             np.nan, "-", median([results[n]["librosa"][LIBROSA_ITERATIONS]["s"]
                                  for n in names])])
  table.notes = [
      "XLA compilation (first call per runner and shape, not in any time above): "
      + ", ".join(f"{k} {v:.2f} s" for k, v in compile_s.items()),
      "PGHI start (NumPy, once per clip and runner; not in the iteration times), median: "
      f"{median([results[n]['start/pghi'][a] for n in names for a in results[n]['start/pghi']]):.3f} s",
      f"chunked runs (30 then 70) against one `tfspecinv.griffin_lim(iterations=100, "
      f"algorithm='agla')` call: max |diff| / peak = {check:.2e}" if np.isfinite(check)
      else "chunking check failed (see notes)",
  ]
  return table


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  bl.add_corpus_arguments(parser)
  parser.set_defaults(max_seconds=3.0)
  parser.add_argument("--iterations", default=",".join(map(str, COUNTS)),
                      help="comma-separated increasing iteration counts to score "
                      f"(default {','.join(map(str, COUNTS))}; {LIBROSA_ITERATIONS} is "
                      "needed for the librosa comparison)")
  parser.add_argument("--timing_clip", default=None,
                      help="clip name for the cost rounds (default: the first real clip)")
  parser.add_argument("--timing_iterations", type=int, default=100)
  parser.add_argument("--timing_repeats", type=int, default=15)
  args = parser.parse_args(argv)
  counts = tuple(int(x) for x in args.iterations.split(",") if x.strip())
  if not counts or list(counts) != sorted(set(counts)) or counts[0] < 1:
    parser.error("--iterations must be increasing positive integers")
  if LIBROSA_ITERATIONS not in counts:
    parser.error(f"--iterations must include {LIBROSA_ITERATIONS} (the librosa comparison)")
  clips = [c for c in bl.load_clips(parser, args) if not c.synthetic]
  if not clips:
    parser.error("no real (non-synthetic) clip selected")
  timing_clip = clips[0]
  if args.timing_clip:
    matching = [c for c in clips if c.name == args.timing_clip]
    if not matching:
      parser.error(f"--timing_clip {args.timing_clip!r} is not among the selected real clips")
    timing_clip = matching[0]

  import librosa
  import tensorflow as tf
  import tfspecinv
  from tfspecinv import phase
  wall = time.perf_counter()
  config = tfspecinv.SpectrogramConfig.librosa(sample_rate=SR, n_fft=N_FFT, hop_length=HOP,
                                               power=1.0)
  runners = {a: phase.GriffinLim(config, jit_compile=True, algorithm=a) for a in ("fgla", "agla")}
  setting_list = settings(phase)
  header = ["# Accelerated Griffin-Lim (AGLA) against fast Griffin-Lim (FGLA)", "",
            *bl.machine_lines(tf, tfspecinv, librosa),
            f"- {len(clips)} real clips of {args.corpus} (synthetic_* skipped)" +
            (f", cut to {args.max_seconds:g} s" if args.max_seconds else "") +
            f"; {SR} Hz, n_fft {N_FFT}, hop {HOP}; target `abs(librosa.stft(y))` (power 1)",
            "- tfspecinv `phase.GriffinLim(config, jit_compile=True, algorithm=...)` (XLA loop), "
            "one run per clip and setting continued from its state and scored at "
            + ", ".join(map(str, counts)) + " iterations; random start seed 0; "
            f"baseline `librosa.griffinlim(n_iter={LIBROSA_ITERATIONS}, momentum=0.99, "
            "init='random', random_state=0)`"]
  if not all(r.jit_compile for r in runners.values()):
    bl.note("the XLA loop is not in use for this config (jit_compile was turned off)")
  print("\n".join(header), flush=True)

  # Compile once per runner and shape (all clips of the same length share it).
  compile_s = {}
  for label, key, algorithm, params in setting_list[:2]:
    mag = tf.constant(bl.mag_of(timing_clip.y).T[None].astype(np.float32))
    t0 = time.perf_counter()
    state = runners[algorithm].start(mag, init="random", seed=0)
    sync(advance(runners[algorithm], mag, state, 1, len(timing_clip.y), params))
    runners[algorithm].waveform(mag, state, len(timing_clip.y)).numpy()
    compile_s[algorithm.upper()] = time.perf_counter() - t0
  lengths = {len(c.y) for c in clips}
  if len(lengths) > 1:
    bl.note(f"clips have {len(lengths)} different lengths; a clip of a new length pays XLA "
            "compilation inside its first timed chunk")

  results = {}
  for index, clip in enumerate(clips):
    t0 = time.perf_counter()
    results[clip.name] = run_clip(tf, runners, setting_list, clip, counts)
    per = results[clip.name]
    print(f"{index + 1}/{len(clips)} {clip.name} ({time.perf_counter() - t0:.1f} s): SC at "
          f"{LIBROSA_ITERATIONS} it " + ", ".join(
              f"{key}/{init} {per[f'{key}/{init}'][LIBROSA_ITERATIONS]['sc']:.2f}"
              for init, _ in STARTS for _, key, _, _ in setting_list)
          + f", librosa {per['librosa'][LIBROSA_ITERATIONS]['sc']:.2f}", flush=True)

  check = bl.run_safely("chunking check", lambda: check_chunking(
      tf, tfspecinv, runners, timing_clip, tuple(phase.AGLA_PARAMETERS)))
  check = np.nan if check is None else check
  print(f"timing on {timing_clip.name} ...", flush=True)
  ms, ratios = timing(tf, runners, setting_list, timing_clip, args.timing_iterations,
                      args.timing_repeats)

  tables = summary_tables(clips, results, setting_list, counts)
  tables.append(time_table(clips, results, setting_list, ms, ratios, timing_clip,
                           args.timing_iterations, args.timing_repeats, compile_s, check))
  for count in sorted({min(100, counts[-1]), LIBROSA_ITERATIONS} & set(counts)):
    tables.append(per_clip_table(clips, results, setting_list, count))
  total = time.perf_counter() - wall
  tables[-1].notes.append(f"whole run (after imports and clip loading): {total:.0f} s")
  if bl.NOTES:
    tables[-1].notes += [f"note: {n}" for n in bl.NOTES]
  bl.emit(tables)
  path, _ = bl.write_markdown(args.results_dir, "agla", header, tables)
  print(f"\n(markdown written to {path})", flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())

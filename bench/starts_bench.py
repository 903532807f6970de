r"""Griffin-Lim's starting phase on linear magnitudes: which start, and the combined one.

For every real corpus clip (`synthetic_*` skipped), cut to `--max_seconds`
(default 3 s) at 22050 Hz, the target is librosa's STFT magnitude (n_fft 1024,
hop 256, power 1: `benchlib.mag_of`). `tfspecinv.reconstruct(...,
method='griffin_lim')` runs from each start

  pghi        phase-gradient heuristic integration;
  zeros       phase 0;
  random s    uniform random phase, seeds 0-5;

and is scored at 50, 100, 200 and 500 iterations (separate runs). Then the
combined start `init='pghi+zeros'` (both starts as one batch, each clip keeps
the better after `pipeline.SELECT_ITERATIONS`) and the linear default
(`reconstruct(mag, config)`, whose 'auto' is that combined start), timed
warm, against `librosa.griffinlim(n_iter=300, random_state=0)` in the same
run. Scores in float64 with librosa: spectral convergence (SC) of
|STFT(output)| against the target, log-spectral distance (LSD) of the
powers; the per-clip gain is librosa's SC minus ours.

  PYTHONPATH=. python bench/starts_bench.py          # about 5 minutes on 2 cores

Writes bench/results/starts.md (command, commit, machine, versions, tables).
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

COUNTS = (50, 100, 200, 500)
STARTS = [("pghi", 0), ("zeros", 0)] + [("random", seed) for seed in range(6)]


def _label(init, seed):
  return f"random {seed}" if init == "random" else init


def _scores(clip, waveform, target):
  waveform = bl.checked_waveform(clip, waveform)
  estimate = bl.mag_of(waveform)
  return {"sc": bl.sc_db(estimate, target), "lsd": bl.lsd_db(estimate ** 2, target ** 2)}


def run_clip(tfspecinv, config, clip):
  """`{setting: {count or 'final': scores}}` for one clip."""
  import librosa  # pylint: disable=import-outside-toplevel
  target = bl.mag_of(clip.y)
  spec, length = target.astype(np.float32), len(clip.y)
  out = {}
  for init, seed in STARTS:
    out[_label(init, seed)] = {
        count: _scores(clip, tfspecinv.reconstruct(spec, config, method="griffin_lim",
                                                   gl_iters=count, init=init, seed=seed,
                                                   length=length)[0], target)
        for count in COUNTS}
  timed = {
      "GL 500, pghi+zeros": dict(method="griffin_lim", gl_iters=500, init="pghi+zeros"),
      "defaults, init='pghi' (GL 500 + L-BFGS 50)": dict(init="pghi"),
      "defaults (auto: pghi+zeros)": {},
  }
  for name, kwargs in timed.items():
    tfspecinv.reconstruct(spec, config, length=length, **kwargs)  # Warm.
    t0 = time.perf_counter()
    waveform, _ = tfspecinv.reconstruct(spec, config, length=length, **kwargs)
    out[name] = {"final": dict(_scores(clip, waveform, target), s=time.perf_counter() - t0)}
  t0 = time.perf_counter()
  waveform = librosa.griffinlim(target, n_iter=300, hop_length=bl.HOP, n_fft=bl.N_FFT,
                                length=length, random_state=0)
  out["librosa"] = {"final": dict(_scores(clip, waveform, target), s=time.perf_counter() - t0)}
  return out


def start_tables(clips, results):
  """Median SC / LSD per start and count, and the best-of-starts medians."""
  names = [c.name for c in clips]
  tables = []
  for key, title in (("sc", "spectral convergence, dB"), ("lsd", "log-spectral distance, dB")):
    table = bl.Table(f"Griffin-Lim from each start: median {title} over {len(names)} real "
                     "clips (lower is better)", ["start"] + [f"{n} it" for n in COUNTS],
                     ["{}"] + ["{:.2f}"] * len(COUNTS))
    for init, seed in STARTS:
      label = _label(init, seed)
      table.add([label] + [float(np.median([results[n][label][c][key] for n in names]))
                           for c in COUNTS])
    if key == "sc":
      for group, members in (("better of pghi, zeros", ["pghi", "zeros"]),
                             ("best of all 8 starts", [_label(*s) for s in STARTS])):
        table.add([group] + [float(np.median([min(results[n][m][c]["sc"] for m in members)
                                              for n in names])) for c in COUNTS], "median")
    tables.append(table)
  return tables


def timed_table(clips, results):
  names = [c.name for c in clips]
  methods = ["librosa", "GL 500, pghi+zeros", "defaults, init='pghi' (GL 500 + L-BFGS 50)",
             "defaults (auto: pghi+zeros)"]
  table = bl.Table(f"Timed, warm: medians over {len(names)} real clips",
                   ["method", "SC dB", "LSD dB", "s per clip", "time / librosa's",
                    "SC gain over librosa, median per clip, dB", "clips better than librosa"],
                   ["{}", "{:.2f}", "{:.2f}", "{:.2f}", "{:.2f}", "{:.2f}", "{}"])
  lib = {n: results[n]["librosa"]["final"] for n in names}
  for method in methods:
    rows = {n: results[n][method]["final"] for n in names}
    gain = [lib[n]["sc"] - rows[n]["sc"] for n in names]
    table.add([method, float(np.median([r["sc"] for r in rows.values()])),
               float(np.median([r["lsd"] for r in rows.values()])),
               float(np.median([r["s"] for r in rows.values()])),
               float(np.median([rows[n]["s"] / lib[n]["s"] for n in names])),
               float(np.median(gain)), f"{sum(g > 0 for g in gain)}/{len(names)}"])
  return table


def per_clip_table(clips, results):
  table = bl.Table("Per clip: SC dB at 500 iterations, and the timed runs",
                   ["clip", "pghi", "zeros", "best random", "GL 500 pghi+zeros",
                    "defaults pghi", "defaults auto", "librosa"],
                   ["{}"] + ["{:.2f}"] * 7)
  for clip in clips:
    per = results[clip.name]
    table.add([clip.name, per["pghi"][500]["sc"], per["zeros"][500]["sc"],
               min(per[f"random {s}"][500]["sc"] for s in range(6)),
               per["GL 500, pghi+zeros"]["final"]["sc"],
               per["defaults, init='pghi' (GL 500 + L-BFGS 50)"]["final"]["sc"],
               per["defaults (auto: pghi+zeros)"]["final"]["sc"],
               per["librosa"]["final"]["sc"]])
  return table


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  bl.add_corpus_arguments(parser)
  parser.set_defaults(max_seconds=3.0)
  args = parser.parse_args(argv)
  clips = [c for c in bl.load_clips(parser, args) if not c.synthetic]
  import librosa  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  import tfspecinv  # pylint: disable=import-outside-toplevel
  from tfspecinv import pipeline  # pylint: disable=import-outside-toplevel
  config = tfspecinv.SpectrogramConfig.librosa(sample_rate=bl.SR, n_fft=bl.N_FFT,
                                               hop_length=bl.HOP, representation="stft",
                                               power=1.0)
  header = ["# Griffin-Lim's starting phase on linear magnitudes", "",
            *bl.machine_lines(tf, tfspecinv, librosa),
            f"- {len(clips)} real clips of {args.corpus}, cut to {args.max_seconds:g} s; "
            f"{bl.SR} Hz, n_fft {bl.N_FFT}, hop {bl.HOP}; target `abs(librosa.stft(y))`",
            f"- combined start: both starts as one batch, each clip keeps the better after "
            f"{pipeline.SELECT_ITERATIONS} iterations (`init='pghi+zeros'`, the linear default)"]
  print("\n".join(header), flush=True)
  wall = time.perf_counter()
  results = {}
  for index, clip in enumerate(clips):
    results[clip.name] = run_clip(tfspecinv, config, clip)
    per = results[clip.name]
    print(f"{index + 1}/{len(clips)} {clip.name}: SC pghi {per['pghi'][500]['sc']:.2f}, zeros "
          f"{per['zeros'][500]['sc']:.2f}, defaults {per['defaults (auto: pghi+zeros)']['final']['sc']:.2f}, "
          f"librosa {per['librosa']['final']['sc']:.2f}", flush=True)
  tables = start_tables(clips, results) + [timed_table(clips, results),
                                           per_clip_table(clips, results)]
  tables[-1].notes.append(f"whole run (after imports and clip loading): "
                          f"{time.perf_counter() - wall:.0f} s")
  if bl.NOTES:
    tables[-1].notes += [f"note: {n}" for n in bl.NOTES]
  bl.emit(tables)
  path, _ = bl.write_markdown(args.results_dir, "starts", header, tables)
  print(f"\n(markdown written to {path})", flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())

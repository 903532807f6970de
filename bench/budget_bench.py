r"""`--time_budget` as a command-line user meets it: each inversion in a fresh process.

For every real corpus clip (`synthetic_*` skipped), cut to `--max_seconds`
(default 3 s) at 22050 Hz, the input is librosa's STFT magnitude
`np.abs(librosa.stft(y, n_fft=1024, hop_length=256))` saved as a `.npy`.
In this process, `librosa.griffinlim(S, n_iter=300, random_state=0)` is timed
(after a warm-up call on another array) and scored: its wall time is T.
Then, each in its own fresh `python main.py` process, with the README's flags
for a linear magnitude and `--time_budget=T`:

  auto @T     the defaults (method 'auto');
  GL only @T  `--method=griffin_lim` (a plain Griffin-Lim run of the same budget).

The written wav (16-bit, as a user gets it; librosa's output is written to
16 bits the same way) is scored in float64 with librosa: spectral convergence (SC) of |STFT(output)| against the input, and
log-spectral distance (LSD) of the powers. Each run's `--report` gives its
iterations, the compilation time outside the budget (`stage_seconds['compile']`)
and the call's seconds; the process's wall time (TensorFlow's import included)
is measured here.

  PYTHONPATH=. python bench/budget_bench.py          # about 15 minutes on 2 busy cores

Writes bench/results/budget.md (command, commit, machine, versions, tables).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
  sys.path.insert(0, _HERE)

import numpy as np  # noqa: E402

import benchlib as bl  # noqa: E402

_MAIN = os.path.join(os.path.dirname(_HERE), "main.py")
FLAGS = ["--representation=stft", "--power=1", f"--sample_rate={bl.SR}", f"--n_fft={bl.N_FFT}",
         f"--hop_length={bl.HOP}"]
RUNS = [("auto @T", []), ("GL only @T", ["--method=griffin_lim"])]


def _scores(clip, waveform, target):
  """SC and LSD of a waveform of `256 * (frames - 1)` samples (the STFT's own length)."""
  waveform = np.asarray(waveform, np.float64)
  if not np.all(np.isfinite(waveform)):
    bl.note(f"{clip.name}: non-finite samples in an output; replaced by 0 for scoring")
    waveform = np.nan_to_num(waveform)
  estimate = bl.mag_of(waveform)
  return {"sc": bl.sc_db(estimate, target), "lsd": bl.lsd_db(estimate ** 2, target ** 2)}


def as_pcm16(waveform):
  """The waveform as a 16-bit wav holds it (soundfile, as main.py writes by default)."""
  import io  # pylint: disable=import-outside-toplevel
  import soundfile  # pylint: disable=import-outside-toplevel
  buffer = io.BytesIO()
  soundfile.write(buffer, np.asarray(waveform, np.float32), bl.SR, subtype="PCM_16", format="WAV")
  buffer.seek(0)
  return soundfile.read(buffer, dtype="float64")[0]


def cli_run(clip, path, target, budget, extra, folder):
  """One fresh `main.py` process: scores of the written file and its report."""
  import soundfile  # pylint: disable=import-outside-toplevel
  out, report = os.path.join(folder, "out.wav"), os.path.join(folder, "report.json")
  command = [sys.executable, _MAIN, path, out, *FLAGS, f"--time_budget={budget:.3f}",
             f"--report={report}", "--overwrite", "--quiet", *extra]
  t0 = time.perf_counter()
  done = subprocess.run(command, capture_output=True, text=True, check=False)
  wall = time.perf_counter() - t0
  if done.returncode != 0:
    bl.note(f"{clip.name} {' '.join(extra)}: exit {done.returncode}: {done.stderr.strip()[-300:]}")
    return None
  if "warning: --time_budget" in done.stderr:
    bl.note("main.py warned that compilation took over half the budget (see 'compile s')")
  written, _ = soundfile.read(out, dtype="float64")
  with open(report) as handle:
    info = json.load(handle)
  row = _scores(clip, written, target)
  row.update(gl_it=info["gl_iterations"], lb_it=info["lbfgs_iterations"],
             compile=info["stage_seconds"].get("compile", np.nan), call=info["seconds"],
             wall=wall, stop=info["stop_reason"])
  return row


def run_clip(clip, folder):
  import librosa  # pylint: disable=import-outside-toplevel
  target = bl.mag_of(clip.y)
  path = os.path.join(folder, "S.npy")
  np.save(path, target.astype(np.float32))
  t0 = time.perf_counter()
  y = librosa.griffinlim(target, n_iter=300, hop_length=bl.HOP, n_fft=bl.N_FFT,
                         random_state=0)
  budget = time.perf_counter() - t0
  per = {"librosa": dict(_scores(clip, as_pcm16(y), target), call=budget)}
  for name, extra in RUNS:
    row = bl.run_safely(f"{clip.name} {name}", lambda: cli_run(clip, path, target, budget,
                                                               extra, folder))
    if row:
      per[name] = row
  return budget, per


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  bl.add_corpus_arguments(parser)
  parser.set_defaults(max_seconds=3.0)
  args = parser.parse_args()
  clips = [c for c in bl.load_clips(parser, args) if not c.synthetic]
  if not clips:
    parser.error("no real (non-synthetic) clip selected")
  import librosa  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  import tfspecinv  # pylint: disable=import-outside-toplevel
  header = ["# `--time_budget` in a fresh process: main.py at librosa griffinlim's time", ""]
  header += bl.machine_lines(tf, tfspecinv, librosa)
  header.append(f"- {len(clips)} real clips of {args.corpus}, cut to {args.max_seconds:g} s; "
                f"22050 Hz, n_fft 1024, hop 256; `np.abs(librosa.stft(y))` saved as .npy")
  warm = bl.mag_of(clips[0].y[:bl.SR])
  librosa.griffinlim(warm, n_iter=10, hop_length=bl.HOP, n_fft=bl.N_FFT)  # Warm-up.
  results = {}
  for index, clip in enumerate(clips):
    with tempfile.TemporaryDirectory() as folder:
      budget, per = run_clip(clip, folder)
    results[clip.name] = per
    print(f"{index + 1}/{len(clips)} {clip.name} (T {budget:.2f}s): " + ", ".join(
        f"{k} {v['sc']:.2f}/{v['lsd']:.2f}" for k, v in per.items()), flush=True)

  methods = [("librosa", "librosa")] + [(name, name) for name, _ in RUNS]
  note_t = ("T = librosa griffinlim(n_iter=300)'s wall time on the clip in this process; "
            "each '@T' column is `python main.py S.npy O.wav " + " ".join(FLAGS) +
            " --time_budget=T` in a fresh process ('GL only' adds --method=griffin_lim), "
            "scored from the 16-bit wav it wrote; librosa's output is scored as a 16-bit wav "
            "too (soundfile PCM_16).")
  tables = [
      bl.metric_table("Spectral convergence of the STFT magnitude, dB (lower is better)", clips,
                      results, methods, "sc", "{:.2f}", notes=[note_t]),
      bl.metric_table("Log-spectral distance of the STFT power, dB (lower is better)", clips,
                      results, methods, "lsd", "{:.2f}"),
  ]
  work = [("T s", "librosa", "call"), ("auto: GL it", "auto @T", "gl_it"),
          ("auto: L-BFGS it", "auto @T", "lb_it"), ("auto: compile s", "auto @T", "compile"),
          ("auto: call s", "auto @T", "call"), ("auto: process s", "auto @T", "wall"),
          ("GL only: GL it", "GL only @T", "gl_it"),
          ("GL only: compile s", "GL only @T", "compile"),
          ("GL only: call s", "GL only @T", "call")]
  table = bl.Table("Time and work per clip", ["clip"] + [h for h, _, _ in work],
                   ["{}"] + ["{:.2f}" if "s" == h.split()[-1] else "{:.0f}" for h, _, _ in work],
                   notes=["'compile s': the call's first compiled calls (tracing and XLA "
                          "compilation), outside the budget (`stage_seconds['compile']`); "
                          "'call s': the whole `reconstruct` call (`result.seconds`); "
                          "'process s': the main.py process, TensorFlow's import included."])
  for clip in clips:
    per = results[clip.name]
    table.add([clip.label] + [float(per.get(m, {}).get(k, np.nan)) for _, m, k in work])
  matrix = np.array([[float(results[c.name].get(m, {}).get(k, np.nan)) for _, m, k in work]
                     for c in clips])
  table.add([f"median (n={len(clips)})"] + [float(np.nanmedian(col)) for col in matrix.T],
            kind="median")
  tables.append(table)

  verdict = []
  for name, _ in RUNS:
    both = [c.name for c in clips if name in results[c.name]]
    if not both:
      continue
    med = lambda m, k: float(np.median([results[n][m][k] for n in both]))
    gain = med("librosa", "sc") - med(name, "sc")
    verdict.append(f"- {name} against librosa over {len(both)} clips: median SC {med(name, 'sc'):.2f} "
                   f"vs {med('librosa', 'sc'):.2f} dB ({gain:+.2f} dB better), median LSD "
                   f"{med(name, 'lsd'):.2f} vs {med('librosa', 'lsd'):.2f} dB; better SC on "
                   f"{sum(results[n][name]['sc'] < results[n]['librosa']['sc'] for n in both)}"
                   f"/{len(both)} clips")
  both = [c.name for c in clips if all(name in results[c.name] for name, _ in RUNS)]
  if both:
    diff = [results[n]["auto @T"]["sc"] - results[n]["GL only @T"]["sc"] for n in both]
    verdict.append(f"- auto @T against GL only @T: SC difference per clip (auto minus GL only) "
                   f"median {np.median(diff):+.2f} dB, worst {max(diff):+.2f} dB")
  header += ["", "## Summary", ""] + verdict
  if bl.NOTES:
    header += ["", "Notes:"] + [f"- {n}" for n in bl.NOTES]
  bl.emit(tables)
  print("\n".join(verdict))
  path, _ = bl.write_markdown(args.results_dir, "budget", header, tables)
  print(f"wrote {path}")


if __name__ == "__main__":
  main()

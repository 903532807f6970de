"""Throughput of the Beam pipeline (DirectRunner, 1 and 2 worker processes) beside main.py.

  python bench/beam_bench.py [--count=12] [--seconds=3] [--engine_flags="--lbfgs_iters=100"]

Cuts `--count` clips of `--seconds` s from ../shared/corpus (resampled to
22050 Hz), saves their librosa mels (n_fft 1024, hop 256, 80 bands, fmax 8000,
power 2) as .npy, and inverts the folder three ways, each in a fresh process
with the same flags: main.py's folder mode, `python -m tfspecinv.beam` with
`--direct_num_workers=1` and with 2 (`--direct_running_mode=multi_processing`).
Throughput is seconds of audio per second of wall time, start-up included.
Prints a table and writes bench/results/beam.md.
"""

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(_REPO, "bench"))
sys.path.insert(0, _REPO)

import numpy as np  # noqa: E402  pylint: disable=wrong-import-position

MEL = ("--representation=mel", "--sample_rate=22050", "--n_fft=1024", "--hop_length=256",
       "--n_mels=80", "--fmax=8000", "--power=2", "--quiet")


def make_inputs(corpus, folder, count, seconds):
  """Mels of `count` clips of `seconds` s (the corpus's first files, sorted); returns audio s."""
  import librosa  # pylint: disable=import-outside-toplevel
  names = sorted(n for n in os.listdir(corpus) if n.endswith(".wav"))
  total = 0.0
  for name in names[:count]:
    y, _ = librosa.load(os.path.join(corpus, name), sr=22050, duration=seconds)
    mel = librosa.feature.melspectrogram(y=y, sr=22050, n_fft=1024, hop_length=256, n_mels=80,
                                         fmax=8000, power=2)
    np.save(os.path.join(folder, os.path.splitext(name)[0] + ".npy"), mel.astype(np.float32))
    total += len(y) / 22050
  return total


def timed_run(command, log_path):
  """Run a command; returns (wall seconds, load average at its start, exit status)."""
  load = os.getloadavg()[0]
  started = time.perf_counter()
  with open(log_path, "w") as log:
    status = subprocess.run(command, cwd=_REPO, stdout=log, stderr=subprocess.STDOUT).returncode
  return time.perf_counter() - started, load, status


def commands(inputs, work, engine_flags):
  """(label, workers, command) of the three runs."""
  common = [*MEL, *engine_flags]
  beam = lambda workers, out: [sys.executable, "-m", "tfspecinv.beam", f"--input={inputs}/*.npy",
                               f"--output={out}", *common, f"--direct_num_workers={workers}",
                               "--direct_running_mode=multi_processing"]
  return [
      ("main.py folder mode", 1, [sys.executable, "main.py", f"--input={inputs}",
                                  f"--output={work}/cli", *common]),
      ("Beam DirectRunner", 1, beam(1, f"{work}/beam1")),
      ("Beam DirectRunner", 2, beam(2, f"{work}/beam2")),
  ]


def table(rows, audio_seconds, count):
  lines = ["| mode | workers | wall s | audio s | throughput (audio s / wall s) | "
           "load average at start | exit |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
  for label, workers, wall, load, status in rows:
    lines.append(f"| {label} | {workers} | {wall:.1f} | {audio_seconds:.1f} ({count} clips) | "
                 f"{audio_seconds / wall:.3f} | {load:.2f} | {status} |")
  return lines


def header():
  """Command, commit, machine and versions (the runner's header, plus Beam)."""
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
  import apache_beam  # pylint: disable=import-outside-toplevel
  import librosa  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  import benchlib  # pylint: disable=import-outside-toplevel
  import tfspecinv  # pylint: disable=import-outside-toplevel
  return benchlib.machine_lines(tf, tfspecinv, librosa) + [
      f"- apache-beam {apache_beam.__version__}"]


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--corpus", default=os.path.normpath(os.path.join(_REPO, "..", "shared",
                                                                        "corpus")))
  parser.add_argument("--count", type=int, default=12, help="how many clips")
  parser.add_argument("--seconds", type=float, default=3.0)
  parser.add_argument("--engine_flags", default="", help="extra flags for all three runs")
  parser.add_argument("--results_dir", default=os.path.join(_REPO, "bench", "results"))
  args = parser.parse_args()
  lines = header()  # Before the runs: the load average is that of the machine, not ours.
  with tempfile.TemporaryDirectory(prefix="beam-bench-") as work:
    inputs = os.path.join(work, "mels")
    os.makedirs(inputs)
    audio = make_inputs(args.corpus, inputs, args.count, args.seconds)
    rows = []
    for label, workers, command in commands(inputs, work, shlex.split(args.engine_flags)):
      wall, load, status = timed_run(command, os.path.join(work, f"log{len(rows)}.txt"))
      rows.append((label, workers, wall, load, status))
      print(f"{label}, {workers} worker(s): {wall:.1f}s (exit {status})", flush=True)
  flags_text = " ".join(MEL + tuple(shlex.split(args.engine_flags)))
  body = lines + ["", f"Inputs: {args.count} clips of {args.seconds:g} s from the corpus "
                  "(22050 Hz librosa mels); flags for every run: "
                  f"`{flags_text}`; wall time per run in a fresh process, start-up "
                  "(TensorFlow import, Beam workers) included.", ""] + table(rows, audio,
                                                                            args.count)
  text = "# Beam pipeline throughput\n\n" + "\n".join(body) + "\n"
  print(text)
  import benchlib  # pylint: disable=import-outside-toplevel
  benchlib.write_results(args.results_dir, "beam", text)


if __name__ == "__main__":
  main()

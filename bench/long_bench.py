"""Scale: throughput against batch size (and devices), peak memory against input duration.

Throughput: batches of B ten-second clips (real corpus audio, 22050 Hz, librosa mel: n_fft
1024, hop 256, 80 Slaney mels, fmax 8000, power 2) inverted by `layers.InverterModule`, the
graph-mode engine that SavedModels, Keras layers and tf.distribute use (the device is whatever
TensorFlow picks: a GPU when one is visible). Two settings: Griffin-Lim only (100 iterations,
the issue's GPU yardstick) and the full default engine (32 Griffin-Lim + 200 L-BFGS). Printed:
seconds of audio reconstructed per wall second, warm (traced before timing), median of repeats.
`--devices N` splits each batch over N replicas with MirroredStrategy (N logical CPUs when no
GPU is present).

Memory: 1, 10 and 60 minutes of mel frames (the corpus's real clips joined and repeated),
saved as .npy, memory-mapped and inverted by `longform.reconstruct_long` into a wav file, each
in a fresh process whose peak resident memory (VmHWM) is read from /proc. The same for
`reconstruct` in one piece (up to --one_piece_max_minutes) shows what the blocks save.
Reduced iterations (--long_gl_iters, --long_lbfgs_iters) keep the hour affordable on a CPU.

  PYTHONPATH=. python bench/long_bench.py                       # both, ~30 min on 2 CPU cores
  PYTHONPATH=. python bench/long_bench.py --experiments throughput --batch_sizes 1,8,64
  PYTHONPATH=. python bench/long_bench.py --experiments memory --minutes 1,10
  PYTHONPATH=. python bench/long_bench.py --experiments joins

Joins: a minute of the real clips joined, reconstructed in small blocks (128 frames, so ~40 joins) with
32 Griffin-Lim + 100 L-BFGS iterations per block, and in one piece with the same iterations; the mel spectral
convergence of the frames within a window of a join is compared with that of the other frames.
"""

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
if REPO not in sys.path:
  sys.path.insert(0, REPO)
if HERE not in sys.path:
  sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

from benchlib import add_corpus_arguments, machine_lines, write_results  # noqa: E402

SR, N_FFT, HOP, N_MELS, FMAX = 22050, 1024, 256, 80, 8000.0
CLIP_SECONDS = 10.0


def _config():
  from tfspecinv import SpectrogramConfig
  return SpectrogramConfig.librosa(sample_rate=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS,
                                   fmax=FMAX, representation="mel")


def _real_clips(corpus):
  """The corpus's real (not synthetic) clips at 22050 Hz, as float32 arrays."""
  import librosa
  paths = [p for p in sorted(glob.glob(os.path.join(corpus, "*.wav")))
           if not os.path.basename(p).startswith("synthetic_")]
  if not paths:
    raise SystemExit(f"no real .wav clips in {corpus}")
  return [(os.path.basename(p), librosa.load(p, sr=SR)[0].astype(np.float32)) for p in paths]


def _ten_second_mels(clips, count):
  """`count` mels of 10 s clips: each corpus clip looped to 10 s, cycling through the corpus."""
  import librosa
  n = int(CLIP_SECONDS * SR)
  mels = []
  for i in range(count):
    y = clips[i % len(clips)][1]
    y = np.tile(y, -(-n // len(y)))[:n]
    mels.append(librosa.feature.melspectrogram(y=y, sr=SR, n_fft=N_FFT, hop_length=HOP,
                                               n_mels=N_MELS, fmax=FMAX, power=2.0))
  return np.stack(mels).astype(np.float32)


# ------------------------------------------------------------------ throughput
def _strategy(devices):
  import tensorflow as tf
  if devices <= 1:
    return None
  gpus = tf.config.list_physical_devices("GPU")
  if len(gpus) >= devices:
    names = [f"/gpu:{i}" for i in range(devices)]
  else:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(devices)])
    names = [f"/cpu:{i}" for i in range(devices)]
  return tf.distribute.MirroredStrategy(names)


def _replicated(strategy, module):
  """One compiled step that runs `module.invert` on each replica's share of a batch."""
  import tensorflow as tf

  def step(batch):
    return strategy.run(lambda part: module.invert(part), args=(batch,))  # pylint: disable=unnecessary-lambda

  return tf.function(step, autograph=False)


def experiment_throughput(args, clips):
  import tensorflow as tf
  from tfspecinv import layers
  strategy = _strategy(args.devices)
  config = _config()
  settings = [("GL 100", dict(gl_iters=100, lbfgs_iters=0)),
              ("default (GL 32 + L-BFGS 200)", dict(gl_iters=32, lbfgs_iters=200))]
  rows = []
  for name, engine in settings:
    module = layers.InverterModule(config, **engine)
    if strategy is not None:
      step = _replicated(strategy, module)
    sizes = args.batch_sizes if engine["lbfgs_iters"] == 0 else args.full_batch_sizes
    for batch_size in sizes:
      mels = tf.constant(_ten_second_mels(clips, batch_size))
      if strategy is not None:
        dataset = strategy.experimental_distribute_dataset(
            tf.data.Dataset.from_tensor_slices(mels).batch(batch_size))
        batch = next(iter(dataset))
        run = lambda: [t.numpy() for t in strategy.experimental_local_results(step(batch))]
      else:
        run = lambda: module.invert(mels).numpy()
      t0 = time.perf_counter()
      run()  # Trace (once per module and shape family) and warm up.
      first = time.perf_counter() - t0
      times = []
      for _ in range(args.repeats):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
      seconds = statistics.median(times)
      rows.append((name, batch_size, seconds, batch_size * CLIP_SECONDS / seconds, first))
      print(f"{name:30s} batch {batch_size:3d}: {seconds:8.2f} s  "
            f"{batch_size * CLIP_SECONDS / seconds:8.1f}x real time  (first call {first:.1f} s)",
            flush=True)
  device = tf.config.list_physical_devices("GPU")
  where = f"GPU: {device[0].name}" if device else f"CPU ({os.cpu_count()} cores)"
  lines = [f"### Throughput: 10 s clips, {where}, {args.devices} replica(s), median of "
           f"{args.repeats}", "",
           "| engine | batch | seconds per batch | audio seconds per second (x real time) | "
           "per-clip speed-up vs batch 1 | first call (s) |", "|---|---|---|---|---|---|"]
  for name, batch_size, seconds, speed, first in rows:
    base = next(r[3] for r in rows if r[0] == name)
    lines.append(f"| {name} | {batch_size} | {seconds:.2f} | {speed:.1f} | "
                 f"{speed / base:.2f}x | {first:.1f} |")
  return lines


# ---------------------------------------------------------------------- memory
def _peak_rss_mb():
  with open("/proc/self/status") as f:
    fields = dict(line.split(":", 1) for line in f if ":" in line)
  return int(fields["VmHWM"].split()[0]) / 1024.0, int(fields["VmRSS"].split()[0]) / 1024.0


def _write_long_mel(path, clips, minutes):
  """A .npy of `minutes` of mel frames, written in pieces (never held whole in memory)."""
  import librosa
  joined = np.concatenate([y for _, y in clips])
  base = librosa.feature.melspectrogram(y=joined, sr=SR, n_fft=N_FFT, hop_length=HOP,
                                        n_mels=N_MELS, fmax=FMAX, power=2.0).astype(np.float32)
  config = _config()
  frames = config.num_frames(int(minutes * 60 * SR))
  out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(N_MELS, frames))
  for start in range(0, frames, base.shape[1]):
    stop = min(start + base.shape[1], frames)
    out[:, start:stop] = base[:, :stop - start]
  out.flush()
  del out
  return frames


def child_memory(args):
  """One measurement in this (fresh) process; prints a JSON line."""
  import soundfile
  import tensorflow as tf
  from tfspecinv import longform, pipeline  # noqa: F401  (TF and TFP loaded before the baseline)
  clips = _real_clips(args.corpus)
  with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "mel.npy")
    frames = _write_long_mel(path, clips, args.minutes_one)
    del clips
    config = _config()
    _, baseline = _peak_rss_mb()
    with open("/proc/self/clear_refs", "w") as f:
      f.write("5")  # Reset VmHWM: the peak from here on is the reconstruction's.
    mel = np.load(path, mmap_mode="r")
    t0 = time.perf_counter()
    if args.mode == "blocks":
      with soundfile.SoundFile(os.path.join(folder, "out.wav"), "w", SR, 1,
                               subtype="FLOAT") as out:
        _, result = longform.reconstruct_long(
            mel, config, sink=out.write, gl_iters=args.long_gl_iters,
            lbfgs_iters=args.long_lbfgs_iters, nnls_iters=args.long_nnls_iters)
      sc = result.spectral_convergence_db
    else:
      waveform, result = pipeline.reconstruct(
          np.asarray(mel), config, gl_iters=args.long_gl_iters,
          lbfgs_iters=args.long_lbfgs_iters, nnls_iters=args.long_nnls_iters)
      soundfile.write(os.path.join(folder, "out.wav"), waveform, SR, subtype="FLOAT")
      sc = float(result.spectral_convergence_db)
    seconds = time.perf_counter() - t0
  peak, _ = _peak_rss_mb()
  print(json.dumps({"minutes": args.minutes_one, "mode": args.mode, "frames": frames,
                    "peak_mb": peak, "baseline_mb": baseline, "seconds": seconds,
                    "sc_db": sc, "gpu": bool(tf.config.list_physical_devices("GPU"))}))


def experiment_memory(args):
  runs = [(m, "blocks") for m in args.minutes]
  runs += [(m, "one piece") for m in args.minutes if m <= args.one_piece_max_minutes]
  rows = []
  for minutes, mode in runs:
    command = [sys.executable, os.path.abspath(__file__), "--child_memory",
               f"--minutes_one={minutes}", f"--mode={'blocks' if mode == 'blocks' else 'whole'}",
               f"--corpus={args.corpus}", f"--long_gl_iters={args.long_gl_iters}",
               f"--long_lbfgs_iters={args.long_lbfgs_iters}",
               f"--long_nnls_iters={args.long_nnls_iters}"]
    process = subprocess.run(command, capture_output=True, text=True)
    lines = [l for l in process.stdout.splitlines() if l.startswith("{")]
    if process.returncode != 0 or not lines:
      print(f"{minutes} min {mode}: failed (exit {process.returncode}): "
            f"{process.stderr.strip().splitlines()[-1:]}", flush=True)
      rows.append((minutes, mode, None))
      continue
    data = json.loads(lines[-1])
    rows.append((minutes, mode, data))
    print(f"{minutes:5g} min {mode:9s}: peak {data['peak_mb']:8.0f} MB (after import "
          f"{data['baseline_mb']:.0f} MB), {data['seconds']:8.1f} s, "
          f"{minutes * 60 / data['seconds']:.2f}x real time, SC {data['sc_db']:.2f} dB",
          flush=True)
  lines = [f"### Peak memory against duration (mel input memory-mapped, output streamed; "
           f"GL {args.long_gl_iters} + L-BFGS {args.long_lbfgs_iters} per block, NNLS "
           f"{args.long_nnls_iters})", "",
           "| minutes | mode | peak RSS (MB) | after importing TF (MB) | growth over import (MB) |"
           " seconds | x real time | mel SC (dB) |", "|---|---|---|---|---|---|---|---|"]
  for minutes, mode, data in rows:
    if data is None:
      lines.append(f"| {minutes:g} | {mode} | failed | | | | | |")
      continue
    lines.append(f"| {minutes:g} | {mode} | {data['peak_mb']:.0f} | {data['baseline_mb']:.0f} |"
                 f" {data['peak_mb'] - data['baseline_mb']:.0f} | {data['seconds']:.1f} | "
                 f"{minutes * 60 / data['seconds']:.2f} | {data['sc_db']:.2f} |")
  return lines


def experiment_joins(args, clips):
  """Do the joins between blocks click? Frames near joins against the rest, on real audio."""
  import librosa
  import tensorflow as tf  # noqa: F401
  from tfspecinv import longform, pipeline
  joined = np.concatenate([y for _, y in clips])[:int(args.joins_seconds * SR)]
  mel = librosa.feature.melspectrogram(y=joined, sr=SR, n_fft=N_FFT, hop_length=HOP,
                                       n_mels=N_MELS, fmax=FMAX, power=2.0).astype(np.float32)
  config = _config()
  t0 = time.perf_counter()
  blocks, result = longform.reconstruct_long(mel, config, length=len(joined),
                                             block_frames=args.joins_block_frames)
  block_seconds = time.perf_counter() - t0
  t0 = time.perf_counter()
  whole, _ = pipeline.reconstruct(mel, config, length=len(joined), lbfgs_iters=100)
  whole_seconds = time.perf_counter() - t0
  reach = -(-N_FFT // HOP) + 1
  near = np.zeros(mel.shape[1], bool)
  for join in result.joins:
    near[max(join // HOP - reach, 0):join // HOP + reach + 1] = True

  def split_sc(waveform):
    estimate = librosa.feature.melspectrogram(y=waveform.astype(np.float64), sr=SR, n_fft=N_FFT,
                                              hop_length=HOP, n_mels=N_MELS, fmax=FMAX)
    error = np.sum((estimate - mel) ** 2, axis=0)
    energy = np.sum(mel.astype(np.float64) ** 2, axis=0)
    sc = lambda mask: 10 * np.log10(error[mask].sum() / energy[mask].sum())
    return sc(near), sc(~near), sc(np.ones_like(near))

  rows = [("blocks", block_seconds) + split_sc(blocks),
          ("one piece", whole_seconds) + split_sc(whole)]
  lines = [f"### Joins on real audio: {len(joined) / SR:.0f} s of the corpus's real clips joined, "
           f"blocks of {args.joins_block_frames} frames ({len(result.joins)} joins), 32 GL + 100 "
           "L-BFGS per block; one piece with the same iterations", "",
           f"| run | seconds | mel SC, frames within {reach} of a join (dB) | mel SC, other frames "
           "(dB) | mel SC, all (dB) |", "|---|---|---|---|---|"]
  for name, seconds, near_sc, rest_sc, all_sc in rows:
    print(f"{name:9s}: near joins {near_sc:.2f} dB, rest {rest_sc:.2f} dB, all {all_sc:.2f} dB, "
          f"{seconds:.1f} s", flush=True)
    lines.append(f"| {name} | {seconds:.1f} | {near_sc:.2f} | {rest_sc:.2f} | {all_sc:.2f} |")
  # Some frames are harder than others whatever the method; the one-piece run has no joins, so
  # its own near-minus-rest gap is what the content alone gives at those frames.
  penalty = (rows[0][2] - rows[0][3]) - (rows[1][2] - rows[1][3])
  lines += ["", f"Near-join minus rest: blocks {rows[0][2] - rows[0][3]:+.2f} dB, one piece (no "
            f"joins, same frames) {rows[1][2] - rows[1][3]:+.2f} dB; what the joins add: "
            f"{penalty:+.2f} dB."]
  print(lines[-1], flush=True)
  return lines


def _numbers(text, kind=int):
  return [kind(x) for x in text.split(",") if x.strip()]


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  add_corpus_arguments(parser)
  parser.add_argument("--experiments", default="throughput,memory,joins")
  parser.add_argument("--batch_sizes", type=_numbers, default=[1, 2, 4, 8, 16],
                      help="batch sizes for GL 100 (e.g. 1,8,64 on a GPU)")
  parser.add_argument("--full_batch_sizes", type=_numbers, default=[1, 4],
                      help="batch sizes for the default engine")
  parser.add_argument("--devices", type=int, default=1, help="MirroredStrategy replicas")
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--minutes", type=lambda t: _numbers(t, float), default=[1.0, 10.0, 60.0])
  parser.add_argument("--one_piece_max_minutes", type=float, default=10.0)
  parser.add_argument("--long_gl_iters", type=int, default=16)
  parser.add_argument("--long_lbfgs_iters", type=int, default=10)
  parser.add_argument("--long_nnls_iters", type=int, default=50)
  parser.add_argument("--joins_seconds", type=float, default=60.0)
  parser.add_argument("--joins_block_frames", type=int, default=128)
  parser.add_argument("--child_memory", action="store_true", help=argparse.SUPPRESS)
  parser.add_argument("--minutes_one", type=float, help=argparse.SUPPRESS)
  parser.add_argument("--mode", default="blocks", help=argparse.SUPPRESS)
  args = parser.parse_args(argv)
  if args.child_memory:
    return child_memory(args)
  experiments = [e.strip() for e in args.experiments.split(",") if e.strip()]
  import librosa
  import tensorflow as tf
  import tfspecinv
  lines = ["## tfspecinv scale bench", ""] + machine_lines(tf, tfspecinv, librosa) + [""]
  if "throughput" in experiments:
    lines += experiment_throughput(args, _real_clips(args.corpus)) + [""]
  if "memory" in experiments:
    lines += experiment_memory(args) + [""]
  if "joins" in experiments:
    lines += experiment_joins(args, _real_clips(args.corpus)) + [""]
  text = "\n".join(lines)
  print("\n" + text)
  path = write_results(args.results_dir, "long_bench", text)
  print(f"written to {path}")


if __name__ == "__main__":
  main()

"""GPU throughput: Griffin-Lim (XLA loop) and the default mel inversion, GPU beside CPU.

Measured, in seconds of audio reconstructed per wall second (x real time), for
batches of B clips of `--seconds` s (default 1, 16, 64 clips of 10 s):

  (a) `tfspecinv.griffin_lim(magnitude, config, iterations=100, jit_compile=True)`:
      `--gl_iters` iterations as one XLA loop, from librosa STFT magnitudes
      (`SpectrogramConfig.librosa(..., representation='stft', power=1.0)`);
  (b) `tfspecinv.reconstruct(mel, config)`: the default inversion (method='auto')
      of librosa mels (n_fft 1024, hop 256, 80 Slaney mels, fmax 8000, power 2).

Clips: the corpus's real recordings (../shared/corpus/*.wav, synthetic_* left
out) at 22050 Hz, each looped to `--seconds`; a batch of B cycles through them.
The spectrograms are made with librosa; a leading batch dimension is a batch.
Each call takes NumPy and returns NumPy, so host-device copies are included.
Per shape, the first call (tracing, XLA compilation, one run) is reported apart
as the warm-up; the figure is the median of `--repeats` further calls. The same
runs are made on the CPU (`tf.device('/CPU:0')`, `--cpu_repeats` calls) for
`--cpu_gl_batches` and `--cpu_batches`, and each row gives the GPU/CPU ratio.
Targets printed beside the figures: >= 200x real time for 100 Griffin-Lim
iterations over 64 ten-second clips, >= 20x for the default inversion at batch 16.
A row whose estimated time would pass `--budget_s` (from the start) is skipped,
with a note, so that the whole run stays under 8 minutes on one H100/H200.

  PYTHONPATH=. python bench/gpu_bench.py                     # GPU machine, ~3-5 min
  PYTHONPATH=. python bench/gpu_bench.py --allow_cpu_only --seconds 1 --batches 1,2 \\
      --cpu_batches 1 --output /tmp/gpu.md                    # smoke run without a GPU

Writes bench/results/gpu.md (or `--output`). Without a GPU the script stops
with exit status 2 unless `--allow_cpu_only` is given; it then runs the CPU part
only and writes nothing unless `--output` is given (bench/results/gpu.md is
kept for GPU runs).
"""

import argparse
import glob
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
for _path in (REPO, HERE):
  if _path not in sys.path:
    sys.path.insert(0, _path)

_STARTED = time.perf_counter()  # --budget_s counts from here.

import numpy as np  # noqa: E402  pylint: disable=wrong-import-position

from benchlib import NOTES, Table, machine_lines, note  # noqa: E402  pylint: disable=wrong-import-position

SR, N_FFT, HOP, N_MELS, FMAX = 22050, 1024, 256, 80, 8000.0
DEFAULT_OUTPUT = os.path.join(REPO, "bench", "results", "gpu.md")
# (method, batch) -> x real time the GPU should reach (for 10 s clips).
TARGETS = {("gl", 64): 200.0, ("auto", 16): 20.0}
METHODS = ("gl", "auto")


def _ints(text):
  """'1,16,64' -> [1, 16, 64]; 'none' -> [] (for the CPU lists)."""
  if text.strip().lower() == "none":
    return []
  try:
    values = [int(x) for x in text.split(",") if x.strip()]
  except ValueError:
    values = []
  if not values or min(values) < 1:
    raise argparse.ArgumentTypeError(f"expected positive integers, comma-separated, or 'none': "
                                     f"{text!r}")
  return values


def parse_args(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  default_corpus = os.path.normpath(os.path.join(REPO, "..", "shared", "corpus"))
  parser.add_argument("--corpus", default=default_corpus,
                      help=f"folder of .wav recordings (default {default_corpus})")
  parser.add_argument("--seconds", type=float, default=10.0, help="clip length in seconds")
  parser.add_argument("--batches", type=_ints, default=[1, 16, 64],
                      help="batch sizes on the GPU (default 1,16,64)")
  parser.add_argument("--cpu_batches", type=_ints, default=[1, 16],
                      help="batch sizes of the default inversion on the CPU (default 1,16; 'none': "
                      "no CPU rows)")
  parser.add_argument("--cpu_gl_batches", type=_ints, default=None,
                      help="batch sizes of Griffin-Lim on the CPU (default: --batches; 'none')")
  parser.add_argument("--gl_iters", type=int, default=100, help="Griffin-Lim iterations")
  parser.add_argument("--repeats", type=int, default=3, help="timed GPU calls per row (median)")
  parser.add_argument("--cpu_repeats", type=int, default=1, help="timed CPU calls per row")
  parser.add_argument("--budget_s", type=float, default=420.0,
                      help="skip rows whose estimated time would end past this many seconds "
                      "from the start (default 420)")
  parser.add_argument("--allow_cpu_only", action="store_true",
                      help="without a GPU, run the CPU part anyway (smoke tests)")
  parser.add_argument("--output", default=None,
                      help="results markdown file (default bench/results/gpu.md, with a GPU "
                      "only)")
  args = parser.parse_args(argv)
  if args.cpu_gl_batches is None:
    args.cpu_gl_batches = list(args.batches)
  if not args.batches:
    parser.error("--batches needs at least one batch size")
  if args.gl_iters < 1 or args.seconds <= 0 or args.repeats < 1 or args.cpu_repeats < 1:
    parser.error("--gl_iters, --seconds, --repeats and --cpu_repeats must be positive")
  return args


# ------------------------------------------------------------------ inputs
def configs():
  from tfspecinv import SpectrogramConfig  # pylint: disable=import-outside-toplevel
  common = dict(sample_rate=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS, fmax=FMAX)
  return (SpectrogramConfig.librosa(**common, representation="stft", power=1.0),
          SpectrogramConfig.librosa(**common, representation="mel"))


def real_clips(corpus, seconds):
  """(names, float32 [n, samples]): the real recordings at 22050 Hz, each looped to `seconds`."""
  import librosa  # pylint: disable=import-outside-toplevel
  paths = [p for p in sorted(glob.glob(os.path.join(corpus, "*.wav")))
           if not os.path.basename(p).startswith("synthetic_")]
  if not paths:
    raise SystemExit(f"no real (non-synthetic_*) .wav recordings in {corpus}")
  n = int(round(seconds * SR))
  names, clips = [], []
  for path in paths:
    y = librosa.load(path, sr=SR, mono=True)[0].astype(np.float32)
    if not len(y):
      continue
    names.append(os.path.splitext(os.path.basename(path))[0])
    clips.append(np.tile(y, -(-n // len(y)))[:n])
  return names, np.stack(clips)


def spectrograms(clips):
  """librosa STFT magnitudes [n, 513, frames] and mel powers [n, 80, frames], float32."""
  import librosa  # pylint: disable=import-outside-toplevel
  magnitude = np.abs(librosa.stft(clips, n_fft=N_FFT, hop_length=HOP)).astype(np.float32)
  mel = librosa.feature.melspectrogram(y=clips, sr=SR, n_fft=N_FFT, hop_length=HOP,
                                       n_mels=N_MELS, fmax=FMAX, power=2.0).astype(np.float32)
  return magnitude, mel


def batch_of(array, size):
  """`size` examples, cycling through the clips."""
  return np.ascontiguousarray(array[np.arange(size) % len(array)])


# ---------------------------------------------------------------- devices
def gpu_lines(tf, gpus):
  if not gpus:
    return ["- GPU: none visible to TensorFlow (tf.config.list_physical_devices('GPU') is "
            "empty): CPU part only"]
  lines = []
  for gpu in gpus:
    try:
      details = tf.config.experimental.get_device_details(gpu)
    except Exception as error:  # pylint: disable=broad-except
      details = {"error": repr(error)}
    name = details.get("device_name", "unknown")
    capability = details.get("compute_capability")
    capability = ".".join(map(str, capability)) if capability else "?"
    lines.append(f"- GPU {gpu.name}: {name}, compute capability {capability}")
  build = tf.sysconfig.get_build_info()
  lines.append(f"- TensorFlow built with CUDA {build.get('cuda_version', '?')}, cuDNN "
               f"{build.get('cudnn_version', '?')}; only the first GPU is used")
  return lines


class Bench:
  """Runs the rows, keeps their figures, skips rows that would pass the budget."""

  def __init__(self, args, tf, tfspecinv):
    self.args, self.tf, self.tfspecinv = args, tf, tfspecinv
    self.start = _STARTED
    self.results = {}  # (method, device, batch) -> dict
    self.per_example = {}  # (method, device) -> (warm-up s, s per example per call), last row
    self.failed = False
    self.planned = []  # (method, device, batch) in order
    self.stft_config, self.mel_config = configs()

  def elapsed(self):
    return time.perf_counter() - self.start

  def call(self, method, device, inputs):
    """One call on `device`: NumPy in, NumPy out; returns (waveform, info dict)."""
    tf, tfspecinv = self.tf, self.tfspecinv
    with tf.device(device):
      if method == "gl":
        out = tfspecinv.griffin_lim(inputs, self.stft_config, iterations=self.args.gl_iters,
                                    jit_compile=True)
        return out.numpy(), {"placed": out.device}
      waveform, result = tfspecinv.reconstruct(inputs, self.mel_config)
      return waveform, {"result": result}

  def row(self, method, device, batch, inputs):
    kind = "GPU" if "GPU" in device else "CPU"
    repeats = self.args.repeats if kind == "GPU" else self.args.cpu_repeats
    label = f"{'griffin_lim' if method == 'gl' else 'reconstruct'} on {kind}, batch {batch}"
    estimate = 0.0
    if (method, kind) in self.per_example:  # The last row's warm-up, calls scaled by batch.
      warm, per_example = self.per_example[(method, kind)]
      estimate = warm + per_example * batch * (repeats + 1)
    ends = self.elapsed() + estimate
    if ends > self.args.budget_s:
      note(f"{label}: skipped, it would end at about {ends:.0f} s, past --budget_s "
           f"{self.args.budget_s:g}")
      return
    tf = self.tf
    try:
      if kind == "GPU":
        tf.config.experimental.reset_memory_stats("GPU:0")
      t0 = time.perf_counter()
      waveform, info = self.call(method, device, inputs)
      warm = time.perf_counter() - t0
      times = []
      for _ in range(repeats):
        if times and self.elapsed() > self.args.budget_s:
          note(f"{label}: {len(times)} of {repeats} timed calls (--budget_s reached)")
          break
        t0 = time.perf_counter()
        waveform, info = self.call(method, device, inputs)
        times.append(time.perf_counter() - t0)
      peak = np.nan
      if kind == "GPU":
        peak = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2 ** 30
    except Exception as error:  # pylint: disable=broad-except
      self.failed = True
      note(f"{label} failed: {type(error).__name__}: {str(error)[:300]}")
      return
    seconds = statistics.median(times)
    audio = batch * self.args.seconds
    self._check(label, kind, waveform, batch, info)
    entry = {"warm": warm, "seconds": seconds, "xrt": audio / seconds, "peak_gib": peak,
             "calls": len(times)}
    result = info.get("result")
    if result is not None:
      entry["sc_db"] = float(np.mean(result.spectral_convergence_db))
      entry["recipe"] = (f"method '{result.method}', init '{result.init}', "
                         f"{result.gl_iterations} Griffin-Lim + {result.lbfgs_iterations} "
                         f"L-BFGS iterations"
                         + (f", loss domain '{result.domain}'" if result.domain else ""))
    self.results[(method, kind, batch)] = entry
    self.per_example[(method, kind)] = (warm, seconds / batch)
    print(f"{label:32s}: warm-up {warm:7.2f} s, {seconds:8.3f} s per call (median of "
          f"{len(times)}), {entry['xrt']:9.1f}x real time"
          + (f", peak {peak:.2f} GiB" if np.isfinite(peak) else ""), flush=True)

  def _check(self, label, kind, waveform, batch, info):
    samples = int(round(self.args.seconds * SR))
    if waveform.shape[0] != batch or abs(waveform.shape[-1] - samples) > HOP:
      note(f"{label}: output shape {waveform.shape}, expected ({batch}, ~{samples})")
    if not np.all(np.isfinite(waveform)):
      note(f"{label}: non-finite samples in the output")
    placed = info.get("placed")
    if placed is not None and kind not in placed.upper():
      note(f"{label}: the output tensor lies on {placed}, not on the {kind}")


# ------------------------------------------------------------------ tables
def tables(args, bench, has_gpu):
  titles = {
      "gl": f"griffin_lim, {args.gl_iters} iterations, jit_compile=True (XLA loop), STFT "
            f"magnitude input, {args.seconds:g} s clips",
      "auto": f"reconstruct(mel, config), default method='auto', {args.seconds:g} s clips",
  }
  out = []
  for method in METHODS:
    headers = ["batch", "audio s", "GPU warm-up s", "GPU s/call", "GPU x RT", "GPU peak GiB",
               "CPU warm-up s", "CPU s/call", "CPU x RT", "GPU/CPU", "target", "met"]
    formats = ["{}", "{:g}", "{:.2f}", "{:.3f}", "{:.1f}", "{:.2f}", "{:.2f}", "{:.3f}",
               "{:.2f}", "{:.1f}x", "{}", "{}"]
    if method == "auto":
      headers.insert(-2, "SC dB")
      formats.insert(-2, "{:.1f}")
    table = Table(titles[method], headers, formats)
    for batch in sorted({b for (m, _, b) in bench.planned if m == method}):
      gpu = bench.results.get((method, "GPU", batch), {})
      cpu = bench.results.get((method, "CPU", batch), {})
      ratio = gpu["xrt"] / cpu["xrt"] if gpu and cpu else np.nan
      target = TARGETS.get((method, batch))
      met = "-"
      if target and gpu and comparable(args, method):
        met = "yes" if gpu["xrt"] >= target else "NO"
      cells = [f"batch {batch}", batch * args.seconds,
               gpu.get("warm", np.nan), gpu.get("seconds", np.nan), gpu.get("xrt", np.nan),
               gpu.get("peak_gib", np.nan), cpu.get("warm", np.nan),
               cpu.get("seconds", np.nan), cpu.get("xrt", np.nan), ratio]
      if method == "auto":
        cells.append(gpu.get("sc_db", cpu.get("sc_db", np.nan)))
      cells += [f">= {target:g}x" if target else "", met]
      table.add(cells)
    recipes = sorted({r["recipe"] for (m, _, _), r in bench.results.items()
                      if m == method and "recipe" in r})
    if recipes:
      table.notes.append("the default inversion ran as: " + "; ".join(recipes))
    if method == "auto":
      table.notes.append("SC dB: the engine's spectral convergence of the mel, mean over the "
                         "batch (GPU run; CPU where no GPU ran)")
    if not has_gpu:
      table.notes.append("no GPU: GPU columns empty, targets not assessed")
    elif not comparable(args, method):
      table.notes.append("targets not assessed: they are for 10 s clips"
                         + (" and 100 iterations" if method == "gl" else ""))
    out.append(table)
  return out


def comparable(args, method):
  """Whether this run's settings are those of the targets (10 s clips, 100 GL iterations)."""
  return args.seconds == 10 and (method != "gl" or args.gl_iters == 100)


def target_lines(args, bench, has_gpu):
  lines = []
  for (method, batch), target in TARGETS.items():
    what = ("100 Griffin-Lim iterations" if method == "gl" else "the default inversion")
    what = f"target, {what} over {batch} ten-second clips on the GPU: >= {target:g}x real time"
    gpu = bench.results.get((method, "GPU", batch))
    if not has_gpu:
      lines.append(f"- {what}: not measured (no GPU)")
    elif gpu is None:
      lines.append(f"- {what}: not measured (batch {batch} not run or failed)")
    elif not comparable(args, method):
      lines.append(f"- {what}: not assessed ({args.seconds:g} s clips"
                   + (f", {args.gl_iters} iterations" if method == "gl" else "")
                   + f"; measured {gpu['xrt']:.1f}x)")
    else:
      lines.append(f"- {what}: measured {gpu['xrt']:.1f}x, "
                   f"{'met' if gpu['xrt'] >= target else 'NOT met'}")
  return lines


def main(argv=None):
  args = parse_args(argv)
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  gpus = tf.config.list_physical_devices("GPU")
  if not gpus:
    print("NO GPU: TensorFlow sees no GPU (tf.config.list_physical_devices('GPU') is empty).",
          flush=True)
    if not args.allow_cpu_only:
      print("This benchmark is for a GPU machine; pass --allow_cpu_only to run the CPU part "
            "alone (a smoke test).", file=sys.stderr)
      return 2
    print("--allow_cpu_only: running the CPU part only.", flush=True)
  output = args.output or (DEFAULT_OUTPUT if gpus else None)
  import librosa  # pylint: disable=import-outside-toplevel
  import tfspecinv  # pylint: disable=import-outside-toplevel

  header = ["# GPU throughput: Griffin-Lim and the default inversion", "",
            *machine_lines(tf, tfspecinv, librosa), *gpu_lines(tf, gpus)]
  names, clips = real_clips(args.corpus, args.seconds)
  magnitude, mel = spectrograms(clips)
  header += [
      f"- clips: {len(names)} real recordings of {args.corpus} (synthetic_* left out) at "
      f"{SR} Hz, each looped to {args.seconds:g} s ({mel.shape[-1]} frames); a batch of B "
      "cycles through them",
      f"- x RT: batch x {args.seconds:g} s over the median wall time of a call (GPU: "
      f"{args.repeats} calls, CPU: {args.cpu_repeats}), NumPy in and out (copies included); "
      "warm-up: the first call for the shape (tracing, XLA compilation and one run)",
      f"- CPU rows: `tf.device('/CPU:0')`, {os.cpu_count()} cores; Griffin-Lim batches "
      f"{','.join(map(str, args.cpu_gl_batches)) or 'none'}, default inversion batches "
      f"{','.join(map(str, args.cpu_batches)) or 'none'}",
  ]
  print("\n".join(header), flush=True)

  bench = Bench(args, tf, tfspecinv)
  inputs = {"gl": magnitude, "auto": mel}
  plan = []
  if gpus:
    plan += [(m, "/GPU:0", b) for m in METHODS for b in sorted(args.batches)]
  # CPU: smallest batches first, both methods, so that a budget cut drops the largest.
  plan += sorted([("gl", "/CPU:0", b) for b in set(args.cpu_gl_batches)]
                 + [("auto", "/CPU:0", b) for b in set(args.cpu_batches)],
                 key=lambda row: (row[2], METHODS.index(row[0])))
  bench.planned = plan
  for method, device, batch in plan:
    bench.row(method, device, batch, batch_of(inputs[method], batch))

  result_tables = tables(args, bench, bool(gpus))
  targets = target_lines(args, bench, bool(gpus))
  for table in result_tables:
    print()
    print(table.text(), flush=True)
  print()
  print("\n".join(targets))
  total = f"- total wall time {bench.elapsed():.0f} s (budget {args.budget_s:g} s)"
  print(total)
  notes = [f"- NOTE: {n}" for n in NOTES]
  for line in notes:
    print(line)
  if output is None:
    print("\nNot written: no GPU and no --output (bench/results/gpu.md is kept for GPU runs).")
  else:
    text = ("\n".join(header + [total]) + "\n\n"
            + "\n\n".join(t.markdown() for t in result_tables) + "\n\n### Targets\n\n"
            + "\n".join(targets) + "\n" + ("\n### Notes\n\n" + "\n".join(notes) + "\n"
                                           if notes else ""))
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output, "w", encoding="utf-8") as handle:
      handle.write(text)
    print(f"\nwritten to {output}")
  return 1 if bench.failed else 0


if __name__ == "__main__":
  sys.exit(main())

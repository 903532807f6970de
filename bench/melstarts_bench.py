r"""What limits `mel_to_audio(M, sr=sr)`'s PESQ-WB: the magnitude start, not the iterations.

For every real corpus clip (22050 Hz, cut to 3 s), `M = librosa.feature.melspectrogram(y=y,
sr=sr)` (librosa's defaults: n_fft 2048, hop 512, 128 Slaney mels, power 2) is inverted
by librosa's `mel_to_audio(M, sr=sr)` and by tfspecinv under several variants. Each
variant runs in its own worker process, because a magnitude start is swapped in for
`tfspecinv.mel.nnls_frames_bins`, and the engine's compiled stages are cached per
process:

  default       `tfspecinv.compat.librosa.mel_to_audio(M, sr=sr)`: NNLS magnitudes,
                32 Griffin-Lim iterations from PGHI, 320 L-BFGS iterations
  gl_only       the same start, 32 Griffin-Lim iterations, no L-BFGS
  lbfgs_960     the same, with 960 L-BFGS iterations (3x)
  gl_200        200 Griffin-Lim iterations, then 320 L-BFGS
  gl_0          L-BFGS straight from the PGHI phase of the NNLS magnitudes
  smooth        magnitudes spread evenly over each band (`F^T (M / F F^T 1)`), not NNLS
  sparse        reweighted-L1 NNLS (3 rounds of 100 steps, weight 0.1 of the largest
                gradient): sparser magnitudes
  mel_gl        200 Griffin-Lim iterations whose magnitudes are rescaled per mel band
                to M each step (the consistent estimate's shape within the band kept)
  oracle_gl     the clip's true |STFT| (levelled to M), 32 Griffin-Lim iterations:
                not available to a user, an upper bound for a better magnitude estimate
  oracle        the true |STFT| start, then 320 L-BFGS iterations against M

Scores in float64 with librosa: PESQ-WB (16 kHz) against the clip and spectral
convergence of the mel power; seconds per call after a warm-up call (the first clip
twice). Writes bench/results/melstarts.md.

  python -m bench melstarts            # ~6 min on 2 idle cores
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
  sys.path.insert(0, HERE)

import benchlib as runner  # noqa: E402  pylint: disable=wrong-import-position

SR = 22050
SECONDS = 3.0
VARIANTS = {
    "librosa": "librosa.feature.inverse.mel_to_audio(M, sr=sr)",
    "default": "compat.librosa.mel_to_audio(M, sr=sr): NNLS, 32 GL, 320 L-BFGS",
    "gl_only": "NNLS, 32 GL, no L-BFGS",
    "lbfgs_960": "NNLS, 32 GL, 960 L-BFGS",
    "gl_200": "NNLS, 200 GL, 320 L-BFGS",
    "gl_0": "NNLS, PGHI phase, 320 L-BFGS",
    "smooth": "even spread per band, 32 GL, 320 L-BFGS",
    "sparse": "reweighted-L1 NNLS, 32 GL, 320 L-BFGS",
    "mel_gl": "mel-projected GL magnitudes, 32 GL, 320 L-BFGS",
    "oracle_gl": "true STFT magnitude (upper bound), 32 GL",
    "oracle": "true STFT magnitude (upper bound), 32 GL, 320 L-BFGS",
}
ITERATIONS = {"default": (32, 320), "gl_only": (32, 0), "lbfgs_960": (32, 960),
              "gl_200": (200, 320), "gl_0": (0, 320), "oracle_gl": (32, 0)}


# ------------------------------------------------------------ magnitude starts
def smooth_start(nnls):
  """Each band's power spread over its bins in proportion to the filter weights."""
  del nnls
  import tensorflow as tf
  from tfspecinv import mel as mel_lib

  def start(mel, config, iterations):
    del iterations
    weights = mel_lib.mel_filterbank(config)
    density = np.maximum(weights @ weights.sum(0), 1e-12)
    return tf.linalg.matmul(mel / tf.constant(density, mel.dtype),
                            tf.constant(weights, mel.dtype))
  return start


def sparse_start(nnls, alpha=0.1, rounds=3, steps=100):
  """Reweighted-L1 NNLS (FISTA with an l1 term whose weights follow 1 / (p + eps))."""
  import tensorflow as tf
  from tfspecinv import mel as mel_lib

  def start(mel, config, iterations):
    power = nnls(mel, config, iterations)
    weights = mel_lib.mel_filterbank(config)
    lipschitz = np.linalg.norm(weights, ord=2) ** 2
    gram = tf.constant(weights.T @ weights / lipschitz, mel.dtype)
    rhs = tf.linalg.matmul(mel, tf.constant(weights / lipschitz, mel.dtype))
    penalty = alpha * tf.reduce_max(rhs, axis=-1, keepdims=True)
    for _ in range(rounds):
      eps = 1e-3 * tf.reduce_max(power, axis=-1, keepdims=True) + 1e-30
      l1 = penalty * eps / (power + eps)
      current = previous = power
      t = 1.0
      for _ in range(steps):
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        point = current + ((t - 1) / t_next) * (current - previous)
        previous = current
        current = tf.nn.relu(point - (tf.linalg.matmul(point, gram) - rhs) - l1)
        t = t_next
      power = current
    return power
  return start


def mel_gl_start(nnls, iterations_gl=200, momentum=0.99):
  """Fast Griffin-Lim whose magnitudes are rescaled per mel band to the target each step."""
  import tensorflow as tf
  from tfspecinv import mel as mel_lib, transforms

  def start(mel, config, iterations):
    power = nnls(mel, config, iterations)
    weights = tf.constant(mel_lib.mel_filterbank(config), mel.dtype)
    coverage = tf.reduce_sum(weights, axis=0) + 1e-12
    floor = 1e-12 * tf.reduce_max(mel)
    phase = tf.random.stateless_uniform(tf.shape(power), [1, 2], 0.0, 2 * np.pi, mel.dtype)
    magnitude = tf.sqrt(power)
    spec = tf.complex(magnitude * tf.cos(phase), magnitude * tf.sin(phase))
    previous = None
    for _ in range(iterations_gl):
      estimate = transforms.stft_frames_bins(transforms.istft_frames_bins(spec, config, -1), config)
      consistent = tf.square(tf.abs(estimate))
      ratio = mel / (tf.linalg.matmul(consistent, weights, transpose_b=True) + floor)
      target = consistent * tf.linalg.matmul(ratio, weights) / coverage
      projected = tf.cast(tf.sqrt(target) / (tf.abs(estimate) + 1e-20), estimate.dtype) * estimate
      spec = projected if previous is None else (
          projected + tf.cast(momentum, estimate.dtype) * (projected - previous))
      previous = projected
    final = transforms.stft_frames_bins(transforms.istft_frames_bins(spec, config, -1), config)
    return tf.square(tf.abs(final))
  return start


class OracleStart:
  """The clip's true STFT power, levelled so that its mel bands sum as the target's."""

  def __init__(self):
    self.power = None

  def set(self, y):
    import librosa
    import tensorflow as tf
    power = (np.abs(librosa.stft(y.astype(np.float64))) ** 2).T[None].astype(np.float32)
    if self.power is None:  # A variable, so the traced stage reads each clip's power.
      self.power = tf.Variable(power)
    else:
      self.power.assign(power)

  def __call__(self, mel, config, iterations):
    del iterations
    import tensorflow as tf
    from tfspecinv import mel as mel_lib
    power = tf.cast(self.power, mel.dtype)
    weights = tf.constant(mel_lib.mel_filterbank(config), mel.dtype)
    return power * tf.reduce_sum(mel) / tf.reduce_sum(
        tf.linalg.matmul(power, weights, transpose_b=True))


# ------------------------------------------------------------------- worker
def worker(variant, clip_paths):
  """Run one variant over the clips; print one JSON line per clip."""
  import librosa
  from tfspecinv import mel as mel_lib, pipeline
  from tfspecinv.compat import librosa as compat
  from tfspecinv.config import SpectrogramConfig
  nnls = mel_lib.nnls_frames_bins
  oracle = OracleStart() if variant.startswith("oracle") else None
  starts = {"smooth": smooth_start, "sparse": sparse_start, "mel_gl": mel_gl_start}
  if variant in starts:
    mel_lib.nnls_frames_bins = starts[variant](nnls)
  elif oracle is not None:
    mel_lib.nnls_frames_bins = oracle
  config = SpectrogramConfig.librosa(sample_rate=SR, n_fft=2048, hop_length=512, n_mels=128,
                                     representation="mel")
  gl_iters, lbfgs_iters = ITERATIONS.get(variant, (32, 320))

  def call(mel, length):
    if variant == "librosa":
      return librosa.feature.inverse.mel_to_audio(mel, sr=SR)
    if variant == "default":
      return compat.mel_to_audio(mel, sr=SR)
    return pipeline.reconstruct(mel, config, method="lbfgs", gl_iters=gl_iters,
                                lbfgs_iters=lbfgs_iters, length=length)[0]

  for index, path in enumerate(clip_paths):
    y, _ = librosa.load(path, sr=SR)
    y = y[:int(SECONDS * SR)].astype(np.float32)
    mel = librosa.feature.melspectrogram(y=y.astype(np.float64), sr=SR).astype(np.float32)
    if oracle is not None:
      oracle.set(y)
    if index == 0:
      call(mel, len(y))  # Warm-up: tracing and compilation.
    start = time.perf_counter()
    out = np.asarray(call(mel, len(y)), np.float64)
    seconds = time.perf_counter() - start
    estimate = librosa.feature.melspectrogram(y=out, sr=SR)
    target = mel.astype(np.float64)
    sc = 20 * np.log10(np.linalg.norm(estimate - target) / np.linalg.norm(target))
    print(json.dumps({"clip": os.path.basename(path)[:-4], "pesq": pesq_wb(y, out), "sc": sc,
                      "seconds": seconds}), flush=True)


def pesq_wb(y, out):
  import librosa
  from pesq import pesq
  ref = librosa.resample(np.asarray(y, np.float64), orig_sr=SR, target_sr=16000)
  deg = librosa.resample(out, orig_sr=SR, target_sr=16000)
  n = min(len(ref), len(deg))
  return float(pesq(16000, ref[:n], deg[:n], "wb"))


# --------------------------------------------------------------------- main
def run_variant(variant, paths):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  process = subprocess.run([sys.executable, __file__, "--worker", variant, *paths],
                           capture_output=True, text=True, env=env)
  rows = [json.loads(line) for line in process.stdout.splitlines() if line.startswith("{")]
  if process.returncode != 0 or len(rows) != len(paths):
    raise RuntimeError(f"variant {variant} failed: {process.stderr[-2000:]}")
  return {row["clip"]: row for row in rows}


def table(results, clips):
  lines = ["| variant | what | median PESQ-WB | vs librosa | median mel SC dB | median s |",
           "|:---|:---|---:|---:|---:|---:|"]
  base = np.median([results["librosa"][c]["pesq"] for c in clips])
  for variant, rows in results.items():
    pesq = np.median([rows[c]["pesq"] for c in clips])
    lines.append(f"| {variant} | {VARIANTS[variant]} | {pesq:.2f} | {pesq - base:+.2f} | "
                 f"{np.median([rows[c]['sc'] for c in clips]):.2f} | "
                 f"{np.median([rows[c]['seconds'] for c in clips]):.2f} |")
  return lines


def per_clip(results, clips):
  names = list(results)
  lines = ["| clip | " + " | ".join(names) + " |", "|:---|" + "---:|" * len(names)]
  for clip in clips:
    lines.append(f"| {clip} | " + " | ".join(f"{results[v][clip]['pesq']:.2f}" for v in names)
                 + " |")
  return lines


def main():
  if len(sys.argv) > 2 and sys.argv[1] == "--worker":
    worker(sys.argv[2], sys.argv[3:])
    return
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--corpus", default=os.path.join(HERE, "..", "..", "shared", "corpus"))
  parser.add_argument("--variants", default=",".join(VARIANTS))
  parser.add_argument("--results_dir", default=os.path.join(HERE, "results"))
  args = parser.parse_args()
  paths = [p for p in runner.corpus_paths(args.corpus)
           if not os.path.basename(p).startswith("synthetic_")]
  clips = [os.path.basename(p)[:-4] for p in paths]
  started = time.time()
  results = {}
  for variant in args.variants.split(","):
    runner.note(f"variant {variant}")
    results[variant] = run_variant(variant, paths)
  header = runner.header_lines("What limits mel_to_audio's PESQ-WB: magnitude starts and "
                               "iterations")
  body = [f"- {len(clips)} real clips of the corpus, cut to {SECONDS:.0f} s at {SR} Hz; "
          "M = librosa.feature.melspectrogram(y=y, sr=sr) (n_fft 2048, hop 512, 128 Slaney "
          "mels, power 2); each variant in its own process; seconds after a warm-up call",
          f"- run took {time.time() - started:.0f} s", "",
          "### Medians over the clips", "", *table(results, clips), "",
          "### PESQ-WB per clip", "", *per_clip(results, clips), ""]
  runner.write_results(args.results_dir, "melstarts", "\n".join(header + body) + "\n")


if __name__ == "__main__":
  main()

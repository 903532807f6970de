"""Spectrogram pictures back to speech: STOI and PESQ on the corpus's speech clips.

Each clip (22050 Hz) becomes `amplitude_to_db(|stft|, ref=np.max)` (n_fft 1024, hop 256, top_db 80),
drawn with `librosa.display.specshow(cmap='gray')` and saved as a PNG without axes, one pixel per
cell (and as a JPEG, quality 90). The picture is read back with `tfspecinv.image` and inverted by
`tfspecinv.reconstruct` (defaults: method='auto', the linear recipe); librosa's `griffinlim` (32
iterations, its default) on the same decoded values is the baseline, the mel recipe (32 Griffin-Lim
then 200 L-BFGS iterations) is the alternative, and the engine on the exact dB values shows what 8
bits cost. Writes bench/results/image.md.

  PYTHONPATH=. python bench/image_bench.py [--corpus DIR] [--clips 'speech_*']
"""

import argparse
import fnmatch
import glob
import os
import statistics
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SR, N_FFT, HOP = 22050, 1024, 256


def _save(db, path, cmap="gray"):
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  import librosa.display
  figure = plt.figure(figsize=(db.shape[1] / 100.0, db.shape[0] / 100.0), dpi=100)
  axis = figure.add_axes([0, 0, 1, 1])
  axis.set_axis_off()
  librosa.display.specshow(db, sr=SR, hop_length=HOP, cmap=cmap, ax=axis)
  figure.savefig(path, dpi=100, **({"pil_kwargs": {"quality": 90}} if path.endswith(".jpg")
                                   else {}))
  plt.close(figure)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--corpus", default=os.path.join(HERE, "..", "..", "shared", "corpus"))
  parser.add_argument("--clips", default="speech_*")
  args = parser.parse_args()
  import librosa
  from pesq import pesq
  from pystoi import stoi
  import tfspecinv
  from tfspecinv import image

  paths = sorted(p for p in glob.glob(os.path.join(args.corpus, "*.wav"))
                 if any(fnmatch.fnmatch(os.path.basename(p), pat) for pat in args.clips.split(",")))
  config = image.image_config(tfspecinv.SpectrogramConfig.librosa(
      sample_rate=SR, n_fft=N_FFT, hop_length=HOP, power=1.0), (-80.0, 0.0))
  rows = []
  columns = ["png engine", "png 32+200", "png librosa GL32", "jpg engine", "exact dB engine"]
  with tempfile.TemporaryDirectory() as folder:
    for path in paths:
      y, _ = librosa.load(path, sr=SR)
      db = librosa.amplitude_to_db(np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP)),
                                   ref=np.max)
      scores = {}
      for kind in ("png", "jpg"):
        picture = os.path.join(folder, f"spec.{kind}")
        _save(db, picture)
        values, _ = image.read_spectrogram_image(picture, (-80, 0), shape=db.shape, resize=True)
        start = time.perf_counter()
        wave, _ = tfspecinv.reconstruct(values, config, length=len(y))
        scores[f"{kind} engine"] = (wave, time.perf_counter() - start)
        if kind == "png":
          start = time.perf_counter()
          base = librosa.griffinlim(librosa.db_to_amplitude(values), n_iter=32, hop_length=HOP,
                                    n_fft=N_FFT, length=len(y), random_state=0)
          scores["png librosa GL32"] = (base, time.perf_counter() - start)
          start = time.perf_counter()
          wave, _ = tfspecinv.reconstruct(values, config, length=len(y), gl_iters=32,
                                          lbfgs_iters=200)
          scores["png 32+200"] = (wave, time.perf_counter() - start)
      wave, _ = tfspecinv.reconstruct(db, config, length=len(y))
      scores["exact dB engine"] = (wave, 0.0)
      ref16 = librosa.resample(y, orig_sr=SR, target_sr=16000)
      row = {"clip": os.path.splitext(os.path.basename(path))[0]}
      for name in columns:
        wave, seconds = scores[name]
        row[name] = (stoi(y, wave, SR, extended=False),
                     pesq(16000, ref16, librosa.resample(wave, orig_sr=SR, target_sr=16000), "wb"),
                     seconds)
      rows.append(row)
      print(row["clip"], "  ".join(f"{n}: STOI {row[n][0]:.3f} PESQ {row[n][1]:.2f}"
                                   for n in columns), flush=True)
  lines = ["| clip | " + " | ".join(f"{c} STOI | {c} PESQ | {c} s" for c in columns) + " |",
           "|:---|" + "---:|" * (3 * len(columns))]
  median = lambda c, k: statistics.median(r[c][k] for r in rows)
  for row in rows + [{"clip": "**median**", **{c: tuple(median(c, k) for k in range(3))
                                               for c in columns}}]:
    lines.append(f"| {row['clip']} | " + " | ".join(
        f"{row[c][0]:.3f} | {row[c][1]:.2f} | {row[c][2]:.2f}" for c in columns) + " |")
  import tensorflow as tf
  sys.path.insert(0, HERE)
  import benchlib as rb  # pylint: disable=import-outside-toplevel
  header = ["# Spectrogram pictures to speech", "", *rb.machine_lines(tf, tfspecinv, librosa),
            "- columns: STOI, PESQ-WB and wall seconds (the exact-dB run is not timed)"]
  table = "\n".join(header) + "\n\n" + "\n".join(lines)
  os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
  with open(os.path.join(HERE, "results", "image.md"), "w") as handle:
    handle.write(table + "\n")
  print(table)


if __name__ == "__main__":
  sys.exit(main())

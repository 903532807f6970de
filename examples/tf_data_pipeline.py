"""Invert a dataset of mel spectrograms in a tf.data pipeline.

  python examples/tf_data_pipeline.py [OUT_DIR]

`InverterModule(config).invert` is a `tf.function` over `[batch, n_mels,
frames]` (any batch size and frame count), so it maps over a batched
`tf.data.Dataset`; tf.data runs it on its own threads, overlapping with the
input pipeline. Here the dataset holds four 1 s mels made from a bundled
recording; in practice it comes from files (`tf.data.TFRecordDataset`, or
`tfspecinv.io.read_tfrecord`).

TFSPECINV_EXAMPLE_FAST=1 uses fewer iterations (for the tests).
"""

import os
import sys

import numpy as np
import soundfile
import tensorflow as tf

import tfspecinv
from tfspecinv import layers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = os.environ.get("TFSPECINV_EXAMPLE_FAST") == "1"


def main(out_dir="."):
  os.makedirs(out_dir, exist_ok=True)
  config = tfspecinv.SpectrogramConfig.librosa(
      sample_rate=22050, n_fft=1024, hop_length=256, n_mels=80, fmax=8000.0,
      representation="mel")
  iterations = dict(gl_iters=8, lbfgs_iters=10) if FAST else dict(gl_iters=32, lbfgs_iters=200)
  module = layers.InverterModule(config, **iterations)

  audio, sr = soundfile.read(os.path.join(ROOT, "samples", "speech_female_ljspeech.wav"),
                             dtype="float32")
  clips = np.stack([audio[i * sr:(i + 1) * sr] for i in range(4)])        # [4, 22050]
  mels = tfspecinv.forward(clips, config).numpy()                          # [4, 80, 87]

  dataset = (tf.data.Dataset.from_tensor_slices(mels)
             .batch(2)
             .map(module.invert, num_parallel_calls=tf.data.AUTOTUNE)      # [2, samples]
             .unbatch())
  paths = []
  for index, waveform in enumerate(dataset):
    path = os.path.join(out_dir, f"clip_{index}.wav")
    soundfile.write(path, waveform.numpy(), config.sample_rate)
    paths.append(path)
  fits = tfspecinv.fit_db(np.stack([soundfile.read(p, dtype="float32")[0] for p in paths]),
                          mels, config)
  print(f"{len(paths)} clips written to {out_dir}; mel spectral convergence of the files: "
        + ", ".join(f"{v:.1f} dB" for v in fits))
  return paths


if __name__ == "__main__":
  main(*sys.argv[1:2])

"""A Keras model that ends in the inverter layer, exported to a SavedModel and reloaded.

  python examples/keras_savedmodel.py [OUT_DIR]

The model maps mel spectrograms `[batch, 80, frames]` to waveforms
`[batch, samples]`: a stand-in for an acoustic model (here one scaling layer)
followed by `tfspecinv.layers.SpectrogramInverter`, which runs Griffin-Lim and
L-BFGS as graph ops. `model.export` writes a SavedModel whose `serve` endpoint
takes any batch size and frame count; loading it needs TensorFlow only.

TFSPECINV_EXAMPLE_FAST=1 uses a 1 s excerpt and few iterations (for the tests).
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
  import keras  # pylint: disable=import-outside-toplevel
  os.makedirs(out_dir, exist_ok=True)
  config = tfspecinv.SpectrogramConfig.librosa(
      sample_rate=22050, n_fft=1024, hop_length=256, n_mels=80, fmax=8000.0,
      representation="mel")
  iterations = dict(gl_iters=8, lbfgs_iters=10) if FAST else dict(gl_iters=32, lbfgs_iters=100)

  model = keras.Sequential([
      keras.Input(shape=(config.n_mels, None)),                 # [batch, n_mels, frames]
      keras.layers.Rescaling(1.0, name="acoustic_model"),        # stands in for your model
      layers.SpectrogramInverter(config, **iterations),         # -> [batch, samples]
  ])

  audio, _ = soundfile.read(os.path.join(ROOT, "samples", "speech_female_ljspeech.wav"),
                            dtype="float32")
  audio = audio[:config.sample_rate * (1 if FAST else 4)]
  mels = tfspecinv.forward(np.stack([audio, audio[::-1].copy()]), config).numpy()  # [2, 80, F]
  waveforms = model(mels).numpy()                            # or model.predict(mels)

  export = os.path.join(out_dir, "mel_to_wave")
  model.export(export, verbose=False)                          # a TensorFlow SavedModel
  reloaded = tf.saved_model.load(export)
  again = reloaded.serve(tf.constant(mels)).numpy()
  print(f"model: {mels.shape} -> {waveforms.shape}; SavedModel {export} reloaded: "
        f"{again.shape}, largest difference {np.max(np.abs(again - waveforms)):.1e}")
  soundfile.write(os.path.join(out_dir, "keras_0.wav"), again[0], config.sample_rate)
  return export


if __name__ == "__main__":
  main(*sys.argv[1:2])

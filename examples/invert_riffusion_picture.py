"""Turn a Riffusion spectrogram picture back into audio.

  python examples/invert_riffusion_picture.py [OUT_DIR]

Riffusion's pictures (512x512 RGB) hold `255 - 255 * (mel / max) ** 0.25` of a
512-band HTK mel (44.1 kHz, hop 441, n_fft 17640, 0-10 kHz), low frequencies
at the bottom. The `riffusion` preset reproduces the mel and
`image.PICTURE_MAPS['riffusion']` the picture, so here a picture is made from
a bundled recording (standing in for the model's output), saved, read back and
inverted. The same from the command line:

  python main.py OUT_DIR/riffusion.png o.wav --convention=riffusion

TFSPECINV_EXAMPLE_FAST=1 uses a 1 s excerpt and few iterations (for the tests).
"""

import os
import sys

import numpy as np
import scipy.signal
import soundfile
import tensorflow as tf

import tfspecinv
from tfspecinv import conventions, image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = os.environ.get("TFSPECINV_EXAMPLE_FAST") == "1"


def main(out_dir="."):
  os.makedirs(out_dir, exist_ok=True)
  config = conventions.make("riffusion")
  picture_map = image.PICTURE_MAPS["riffusion"]
  audio, rate = soundfile.read(os.path.join(ROOT, "samples", "speech_female_ljspeech.wav"),
                               dtype="float64")
  audio = scipy.signal.resample_poly(audio, config.sample_rate, rate)  # 22050 -> 44100 Hz
  audio = audio[:config.sample_rate if FAST else config.num_samples(512)].astype(np.float32)

  # The picture Riffusion would hand over: 8-bit RGB, low frequencies at the bottom.
  mel = tfspecinv.forward(audio, config).numpy()                      # [512, frames]
  levels = image.encode_levels(mel, picture_map).astype(np.uint8)     # 255 - 255 (mel/max)^0.25
  rgb = np.repeat(levels[::-1, :, None], 3, axis=-1)
  picture_path = os.path.join(out_dir, "riffusion.png")
  tf.io.write_file(picture_path, tf.io.encode_png(rgb))

  values, _ = image.read_picture(picture_path, picture_map, shape=(config.n_mels, None))
  iterations = dict(gl_iters=8, lbfgs_iters=5) if FAST else {}   # defaults: 32 + 350
  waveform, result = tfspecinv.reconstruct(values, image.picture_config(config, picture_map),
                                           **iterations)
  wav_path = os.path.join(out_dir, "riffusion.wav")
  soundfile.write(wav_path, 0.99 * waveform / np.max(np.abs(waveform)), config.sample_rate)
  written, _ = soundfile.read(wav_path)
  print(f"{picture_path}: {rgb.shape[0]}x{rgb.shape[1]} px -> {wav_path}: {len(written)} "
        f"samples at {config.sample_rate} Hz; {result.gl_iterations} Griffin-Lim + "
        f"{result.lbfgs_iterations} L-BFGS iterations, spectral convergence "
        f"{float(result.spectral_convergence_db):.1f} dB")
  return wav_path


if __name__ == "__main__":
  main(*sys.argv[1:2])

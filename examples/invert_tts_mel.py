"""Invert a TTS model's log-mel spectrogram (HiFi-GAN / BigVGAN convention) to a wav.

  python examples/invert_tts_mel.py [OUT_DIR]

A TTS acoustic model trained for a HiFi-GAN vocoder predicts exactly what
HiFi-GAN's `meldataset.mel_spectrogram` computes: 22050 Hz, n_fft 1024, hop
256, 80 Slaney mels up to 8 kHz, natural log of the clamped magnitude mel. The
`hifigan` preset reproduces that transform, so here it makes such a mel from a
bundled recording (standing in for the model's output), saves it as the model
would, and inverts the saved file. The same from the command line:

  python main.py --input=OUT_DIR/tts_mel.npy --output=o.wav --convention=hifigan

TFSPECINV_EXAMPLE_FAST=1 uses a 1 s excerpt and few iterations (for the tests).
"""

import os
import sys

import numpy as np
import soundfile

import tfspecinv
import tfspecinv.conventions

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = os.environ.get("TFSPECINV_EXAMPLE_FAST") == "1"


def main(out_dir="."):
  os.makedirs(out_dir, exist_ok=True)
  # HiFi-GAN v1; BigVGAN-v2 24 kHz: make("hifigan", sample_rate=24000).
  config = tfspecinv.conventions.make("hifigan")
  audio, sample_rate = soundfile.read(os.path.join(ROOT, "samples", "speech_female_ljspeech.wav"),
                                      dtype="float32")
  assert sample_rate == config.sample_rate
  if FAST:
    audio = audio[:sample_rate]

  # What the TTS model would hand over: a log-mel [80, frames], float32.
  mel = tfspecinv.forward(audio[None], config)[0].numpy()
  mel_path = os.path.join(out_dir, "tts_mel.npy")
  np.save(mel_path, mel)

  mel = np.load(mel_path)
  iterations = dict(gl_iters=8, lbfgs_iters=20) if FAST else {}  # defaults: 32 + 200
  waveform, result = tfspecinv.reconstruct(mel, config, **iterations)

  wav_path = os.path.join(out_dir, "tts_mel.wav")
  peak = float(np.max(np.abs(waveform)))
  soundfile.write(wav_path, waveform / max(peak, 1.0), config.sample_rate)
  written, _ = soundfile.read(wav_path, dtype="float32")
  print(f"{mel_path}: mel {mel.shape} -> {wav_path}: {len(written)} samples at "
        f"{config.sample_rate} Hz; {result.gl_iterations} Griffin-Lim + "
        f"{result.lbfgs_iterations} L-BFGS iterations in {result.seconds:.1f} s; "
        f"mel spectral convergence of the written file "
        f"{float(tfspecinv.fit_db(written, mel, config)):.1f} dB")
  return wav_path


if __name__ == "__main__":
  main(*sys.argv[1:2])

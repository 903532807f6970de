"""Invert a TTS toolkit's normalised dB mel (Coqui TTS, keithito/tacotron, RTVC) to a wav.

  python examples/invert_coqui_mel.py [OUT_DIR]

Coqui TTS models store the mel their `AudioProcessor` computes, described by
the `audio` section of the model's `config.json`: dB magnitudes minus
`ref_level_db`, normalised from `min_level_db` to [-4, 4] and clipped, here
with pre-emphasis 0.97 and an 8 kHz band limit, as many recipes set.
`conventions.from_coqui_audio` turns that section into a config; here it
makes such a mel from a bundled recording (standing in for the model's
output), saves it as the model would, and inverts the saved file: the
reconstruction is de-emphasised and keeps the recording's level. The same from
the command line, passing only the fields the recipe changed:

  python main.py OUT_DIR/coqui_mel.npy o.wav --convention=coqui --preemphasis=0.97 --fmax=8000

keithito/tacotron and Real-Time-Voice-Cloning mels: `--convention=keithito`,
`--convention=rtvc`.

TFSPECINV_EXAMPLE_FAST=1 uses a 1 s excerpt and few iterations (for the tests).
"""

import json
import os
import sys

import numpy as np
import soundfile

import tfspecinv
import tfspecinv.conventions

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = os.environ.get("TFSPECINV_EXAMPLE_FAST") == "1"

# The audio section of a Coqui TTS config.json (fields Coqui's AudioProcessor
# reads; trimming, loudness and Griffin-Lim fields do not change the mel).
CONFIG_JSON = """{"audio": {
  "fft_size": 1024, "win_length": 1024, "hop_length": 256, "frame_shift_ms": null,
  "frame_length_ms": null, "stft_pad_mode": "reflect", "sample_rate": 22050,
  "resample": false, "preemphasis": 0.97, "ref_level_db": 20, "do_sound_norm": false,
  "log_func": "np.log10", "do_trim_silence": true, "trim_db": 60, "power": 1.5,
  "griffin_lim_iters": 60, "num_mels": 80, "mel_fmin": 0.0, "mel_fmax": 8000.0,
  "spec_gain": 20, "do_amp_to_db_linear": true, "do_amp_to_db_mel": true,
  "signal_norm": true, "min_level_db": -100, "symmetric_norm": true, "max_norm": 4.0,
  "clip_norm": true, "stats_path": null}}"""


def main(out_dir="."):
  os.makedirs(out_dir, exist_ok=True)
  config = tfspecinv.conventions.from_coqui_audio(json.loads(CONFIG_JSON)["audio"])
  assert config == tfspecinv.conventions.make("coqui", preemphasis=0.97, fmax=8000.0)
  audio, sample_rate = soundfile.read(os.path.join(ROOT, "samples", "speech_female_ljspeech.wav"),
                                      dtype="float32")
  assert sample_rate == config.sample_rate
  audio = audio[:sample_rate if FAST else 3 * sample_rate]
  audio = audio[:len(audio) // config.hop_length * config.hop_length]

  # What the TTS model would hand over: normalised dB mels in [-4, 4], [80, frames].
  mel = tfspecinv.forward(audio[None], config)[0].numpy()
  mel_path = os.path.join(out_dir, "coqui_mel.npy")
  np.save(mel_path, mel)

  mel = np.load(mel_path)
  iterations = dict(gl_iters=8, lbfgs_iters=30) if FAST else {}  # defaults: 32 + 350
  waveform, result = tfspecinv.reconstruct(mel, config, **iterations)

  wav_path = os.path.join(out_dir, "coqui_mel.wav")
  soundfile.write(wav_path, waveform, config.sample_rate, subtype="FLOAT")
  written, _ = soundfile.read(wav_path, dtype="float64")
  rms = lambda x: float(np.sqrt(np.mean(np.square(x))))
  print(f"{mel_path}: mel {mel.shape} in [{mel.min():.2f}, {mel.max():.2f}] -> {wav_path}: "
        f"{len(written)} samples at {config.sample_rate} Hz, level {rms(written) / rms(audio):.2f} "
        f"x the recording's; {result.gl_iterations} Griffin-Lim + {result.lbfgs_iterations} "
        f"L-BFGS iterations in {result.seconds:.1f} s; mel spectral convergence of the written "
        f"file {float(tfspecinv.fit_db(written, mel, config)):.1f} dB")
  return wav_path


if __name__ == "__main__":
  main(*sys.argv[1:2])

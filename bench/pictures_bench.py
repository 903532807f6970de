"""Pictures from diffusion models back to speech: `--convention=riffusion` / `audio_diffusion`.

Each corpus speech clip is resampled to the toolkit's rate and cut (or padded with silence, as
both toolkits pad) to the span of one picture: Riffusion 512 frames at hop 441 (511 * 441
samples, 44.1 kHz, 512x512 RGB), audio-diffusion 256 frames (its slice, 256 * 512 - 1 samples,
22.05 kHz, 256x256 grey). The picture is made by the NumPy references of
tests/test_picture_presets.py (written from riffusion `image_from_spectrogram` and
audio-diffusion `Mel.audio_slice_to_image`) and saved as an 8-bit PNG; then, in a fresh process,

  python main.py pic.png out.wav --convention=NAME

and, in the same run, each toolkit's own inversion of the same picture:

* Riffusion (`spectrogram_from_image` + `SpectrogramConverter.audio_from_spectrogram`):
  levels -> `((255 - g) / 255) ** 4 * 30e6`, torchaudio `InverseMelScale` (here its
  least-squares form: NumPy `lstsq`, the minimum-norm solution, then `relu`, as torchaudio's
  `driver='gels'`), then `GriffinLim(n_iter=32, momentum=0.99, rand_init=True)` (here librosa
  `griffinlim` with the same settings, reflect padding).
* audio-diffusion (`Mel.image_to_audio`): `g * 80 / 255 - 80` dB, `db_to_power`, librosa
  `mel_to_audio(n_iter=32)`.

STOI (at the toolkit's rate) and PESQ-WB (both resampled to 16 kHz) against the clip the picture
was made from; wall seconds per clip (main.py: the whole process, TensorFlow's import included).
Writes bench/results/pictures.md.

  PYTHONPATH=. python bench/pictures_bench.py [--corpus DIR] [--clips 'speech_*']
"""

import argparse
import fnmatch
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, HERE)

PRESETS = {
    # name: (sample rate, samples of one picture)
    "riffusion": (44100, 511 * 441),
    "audio_diffusion": (22050, 256 * 512 - 1),
}


def _clip(path, sample_rate, samples):
  import librosa
  y, _ = librosa.load(path, sr=sample_rate)
  y = y[:samples].astype(np.float64)
  return np.pad(y, (0, samples - len(y)))


def _picture(name, y, path):
  from PIL import Image
  import test_picture_presets as ref
  if name == "riffusion":
    pixels = ref.reference_riffusion_picture(ref.reference_riffusion_mel(y))
    Image.fromarray(pixels, mode="RGB").save(path)
    return pixels[::-1, :, 0]  # Grey levels, row 0 the first mel band.
  pixels = ref.reference_audio_diffusion_picture(y)
  Image.fromarray(pixels).save(path)
  return pixels


def _riffusion_own(levels, length):
  """Riffusion's inversion: power-law decoding, least-squares inverse mel, Griffin-Lim 32."""
  import librosa
  import test_picture_presets as ref
  mel = np.power((255.0 - levels.astype(np.float64)) / 255.0, 4.0) * 30e6
  sr, n_fft, hop, win = 44100, 17640, 441, 4410
  # torchaudio's melscale_fbanks (HTK, no norm), as the test's reference lays it out.
  all_freqs = np.linspace(0, sr // 2, n_fft // 2 + 1)
  f_pts = ref._htk_hz(np.linspace(ref._htk_mel(0.0), ref._htk_mel(10000.0), 514))
  slopes = f_pts[None, :] - all_freqs[:, None]
  f_diff = np.diff(f_pts)
  fb = np.maximum(0.0, np.minimum(-slopes[:, :-2] / f_diff[:-1], slopes[:, 2:] / f_diff[1:])).T
  linear = np.maximum(np.linalg.lstsq(fb, mel, rcond=None)[0], 0.0)
  return librosa.griffinlim(linear, n_iter=32, hop_length=hop, win_length=win, n_fft=n_fft,
                            pad_mode="reflect", momentum=0.99, init="random", random_state=0,
                            length=length)


def _audio_diffusion_own(levels, length):
  """audio-diffusion's `Mel.image_to_audio`: dB, power, librosa `mel_to_audio(n_iter=32)`."""
  import librosa
  log_s = levels.astype(np.float64) * 80 / 255 - 80
  audio = librosa.feature.inverse.mel_to_audio(librosa.db_to_power(log_s), sr=22050, n_fft=2048,
                                               hop_length=512, n_iter=32)
  return np.pad(audio, (0, max(0, length - len(audio))))[:length]


def _scores(y, wave, sample_rate):
  import librosa
  from pesq import pesq
  from pystoi import stoi
  n = min(len(y), len(wave))
  y, wave = y[:n], np.asarray(wave, np.float64)[:n]
  ref16 = librosa.resample(y, orig_sr=sample_rate, target_sr=16000)
  deg16 = librosa.resample(wave, orig_sr=sample_rate, target_sr=16000)
  return stoi(y, wave, sample_rate, extended=False), pesq(16000, ref16, deg16, "wb")


def _main_py(picture, out, name):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  command = [sys.executable, os.path.join(ROOT, "main.py"), picture, out, f"--convention={name}"]
  start = time.perf_counter()
  process = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
  seconds = time.perf_counter() - start
  if process.returncode != 0:
    raise RuntimeError(f"main.py failed on {picture}: {process.stderr[-2000:]}")
  return seconds


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--corpus", default=os.path.join(ROOT, "..", "shared", "corpus"))
  parser.add_argument("--clips", default="speech_*")
  parser.add_argument("--presets", default="audio_diffusion,riffusion")
  args = parser.parse_args()
  import librosa
  import soundfile as sf
  import tensorflow as tf
  import tfspecinv
  import benchlib

  paths = sorted(p for p in glob.glob(os.path.join(args.corpus, "*.wav"))
                 if any(fnmatch.fnmatch(os.path.basename(p), pat) for pat in args.clips.split(",")))
  own = {"riffusion": _riffusion_own, "audio_diffusion": _audio_diffusion_own}
  tables = []
  with tempfile.TemporaryDirectory() as folder:
    for name in args.presets.split(","):
      sample_rate, samples = PRESETS[name]
      rows = []
      for path in paths:
        clip = os.path.splitext(os.path.basename(path))[0]
        y = _clip(path, sample_rate, samples)
        picture = os.path.join(folder, f"{name}_{clip}.png")
        levels = _picture(name, y, picture)
        out = os.path.join(folder, f"{name}_{clip}.wav")
        seconds = _main_py(picture, out, name)
        wave, rate = sf.read(out, dtype="float64")
        assert rate == sample_rate, (rate, sample_rate)
        start = time.perf_counter()
        base = own[name](levels, len(y))
        base_seconds = time.perf_counter() - start
        row = (clip, *_scores(y, wave, sample_rate), seconds, *_scores(y, base, sample_rate),
               base_seconds, len(wave) / sample_rate)
        rows.append(row)
        print(name, "  ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row),
              flush=True)
      tables.append((name, rows))
  toolkit = {"riffusion": "Riffusion: lstsq InverseMelScale + GriffinLim 32",
             "audio_diffusion": "audio-diffusion: mel_to_audio n_iter=32"}
  lines = ["# Pictures from diffusion models to speech", "",
           *benchlib.machine_lines(tf, tfspecinv, librosa),
           "- pictures: the NumPy references of tests/test_picture_presets.py, 8-bit PNG; "
           "tfspecinv: `python main.py pic.png out.wav --convention=NAME` (fresh process, "
           "defaults), seconds include start-up",
           "- STOI at the toolkit's rate, PESQ-WB at 16 kHz, against the clip the picture was "
           "made from (resampled, cut or padded with silence to one picture)"]
  for name, rows in tables:
    lines += ["", f"## `--convention={name}` ({PRESETS[name][0]} Hz, "
              f"{PRESETS[name][1] / PRESETS[name][0]:.2f} s)", "",
              f"| clip | tfspecinv STOI | tfspecinv PESQ-WB | tfspecinv s | {toolkit[name]} STOI "
              "| PESQ-WB | s | output s |", "|:---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
      lines.append(f"| {row[0]} | " + " | ".join(
          f"{v:.3f}" if i in (0, 3) else f"{v:.2f}" for i, v in enumerate(row[1:])) + " |")
    medians = [statistics.median(r[i] for r in rows) for i in range(1, 8)]
    lines.append("| **median** | " + " | ".join(
        f"{v:.3f}" if i in (0, 3) else f"{v:.2f}" for i, v in enumerate(medians)) + " |")
    lines.append(f"\nminimum tfspecinv STOI: {min(r[1] for r in rows):.3f}")
  text = "\n".join(lines) + "\n"
  benchlib.write_results(os.path.join(HERE, "results"), "pictures", text)
  print(text)


if __name__ == "__main__":
  sys.exit(main())

#!/usr/bin/env python
"""TTS toolkit mels (Coqui TTS, keithito/tacotron, Real-Time-Voice-Cloning) through the command line.

For each real speech clip of the corpus (resampled to the toolkit's rate with
`librosa.load(sr=...)`, cut to --max-seconds) and each toolkit row:

  1. the mel is made by a NumPy float64 re-implementation of the toolkit's
     own code (`toolkit_mel` below: pre-emphasis, librosa-style centred STFT,
     `librosa.filters.mel`, `20 log10(max(amin, M)) - ref_level_db`, range
     normalisation and clip), saved as float32 `mel.npy`;
  2. `python main.py mel.npy out.wav --convention=NAME [recipe flags]` runs in
     a fresh process (defaults otherwise: 16-bit PCM, --normalize=auto), and
     `out.wav` is read back as written;
  3. beside it, the toolkit's own inversion in this process
     (`toolkit_griffin_lim`: denormalise, dB to amplitude, mel to linear by
     the pseudo-inverse floored at 1e-10, magnitudes ** 1.5, 60 Griffin-Lim
     iterations from random phase with librosa's STFT, de-emphasis), as
     Coqui's `AudioProcessor.inv_melspectrogram`, RTVC's
     `inv_mel_spectrogram` and keithito's `inv_spectrogram` do.

Scores, from the waveform as written, against the input:
  SC      20 log10(||M_hat - M|| / ||M||) of the linear mel magnitudes (the
          stored values denormalised, as fit_db and the engine measure), M_hat
          recomputed from the output by the same NumPy reference; with the
          output level-matched (one least-squares gain on the unclipped
          cells) where --normalize scaled the file, and always for the
          toolkit's inversion (`** 1.5` changes the level; the toolkits
          peak-normalise when they save);
  SC norm the same on the stored (normalised, clipped) values;
  PESQ-WB of the output against the clip at the toolkit's rate, both
          resampled to 16 kHz;
  peak    of the written file; seconds: wall time of main.py (process start,
          TensorFlow import and compilation included) and of the toolkit's
          Griffin-Lim.

Targets: SC <= -30 dB and PESQ-WB >= 3.5 for main.py.

  PYTHONPATH=. python bench/tts_bench.py                      # speech clips, 3 s
  PYTHONPATH=. python bench/tts_bench.py --clips 'speech_female_lj*' --max-seconds 2

Writes bench/results/tts.md.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_BENCH = os.path.dirname(os.path.abspath(__file__))
_REPO = os.path.dirname(_BENCH)
for _p in (_REPO, _BENCH):
  if _p not in sys.path:
    sys.path.insert(0, _p)

import numpy as np  # noqa: E402
import scipy.signal  # noqa: E402

import benchlib  # noqa: E402

MAIN = os.path.join(_REPO, "main.py")

# Toolkit parameters, from each project's defaults:
#   coqui    TTS/config/shared_configs.py BaseAudioConfig; TTS/utils/audio/processor.py
#            (normalize) and numpy_transforms.py (amp_to_db floor 1e-8, stft, griffin_lim)
#   keithito hparams.py, util/audio.py (librosa 0.5.1: reflect padding)
#   rtvc     synthesizer/hparams.py, synthesizer/audio.py (librosa 0.9.2: zero padding)
COQUI = dict(sr=22050, n_fft=1024, hop=256, win=1024, pad_mode="reflect", n_mels=80, fmin=0.0,
             fmax=None, preemphasis=0.0, amin=1e-8, ref_db=20.0, min_db=-100.0, max_norm=4.0,
             symmetric=True)
KEITHITO = dict(sr=20000, n_fft=2048, hop=250, win=1000, pad_mode="reflect", n_mels=80,
                fmin=0.0, fmax=None, preemphasis=0.97, amin=1e-5, ref_db=20.0, min_db=-100.0,
                max_norm=1.0, symmetric=False)
RTVC = dict(sr=16000, n_fft=800, hop=200, win=800, pad_mode="constant", n_mels=80, fmin=55.0,
            fmax=7600.0, preemphasis=0.97, amin=1e-5, ref_db=20.0, min_db=-100.0, max_norm=4.0,
            symmetric=True)

# (row, toolkit parameters, main.py flags): the defaults of each toolkit, and a
# Coqui recipe that changes two fields (as LJSpeech configs do: fmax 8000,
# pre-emphasis), passed as flags.
ROWS = [
    ("coqui", COQUI, ["--convention=coqui"]),
    ("coqui fmax 8000, preemphasis 0.97", dict(COQUI, fmax=8000.0, preemphasis=0.97),
     ["--convention=coqui", "--fmax=8000", "--preemphasis=0.97"]),
    ("keithito", KEITHITO, ["--convention=keithito"]),
    ("rtvc", RTVC, ["--convention=rtvc"]),
]
POWER, GL_ITERS = 1.5, 60


# ------------------------------------------------------------ the toolkits
def _window(n_fft, win):
  window = np.zeros(n_fft)
  start = (n_fft - win) // 2
  window[start:start + win] = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(win) / win)
  return window


def _stft_magnitude(y, p):
  """Centred librosa-style STFT magnitude `[bins, frames]`, float64."""
  padded = np.pad(np.asarray(y, np.float64), p["n_fft"] // 2, mode=p["pad_mode"])
  count = 1 + (len(padded) - p["n_fft"]) // p["hop"]
  index = np.arange(p["n_fft"])[None, :] + p["hop"] * np.arange(count)[:, None]
  return np.abs(np.fft.rfft(padded[index] * _window(p["n_fft"], p["win"]), axis=-1)).T


def _mel_basis(p):
  import librosa
  return librosa.filters.mel(sr=p["sr"], n_fft=p["n_fft"], n_mels=p["n_mels"], fmin=p["fmin"],
                             fmax=p["fmax"]).astype(np.float64)


def _range(p):
  return (-p["max_norm"] if p["symmetric"] else 0.0), p["max_norm"]


def toolkit_mel(y, p):
  """The toolkit's normalised mel `[n_mels, frames]` (float64): pre-emphasis, |STFT|, mel,
  `20 log10(max(amin, M)) - ref_level_db`, `(S - min) / -min` to the range, clipped."""
  if p["preemphasis"]:
    y = scipy.signal.lfilter([1, -p["preemphasis"]], [1], y)
  mel = _mel_basis(p) @ _stft_magnitude(y, p)
  db = 20.0 * np.log10(np.maximum(p["amin"], mel)) - p["ref_db"]
  unit = (db - p["min_db"]) / -p["min_db"]
  low, high = _range(p)
  return np.clip(unit * (high - low) + low, low, high)


def toolkit_linear_mel(values, p):
  """Stored values back to mel magnitudes (the toolkits' `_denormalize` + `_db_to_amp`)."""
  low, high = _range(p)
  unit = (np.clip(values, low, high) - low) / (high - low)
  return 10.0 ** ((unit * -p["min_db"] + p["min_db"] + p["ref_db"]) / 20.0)


def toolkit_griffin_lim(values, p, seed=0):
  """The toolkits' inversion: linear mel, pseudo-inverse (floor 1e-10), ** 1.5, 60 GL, de-emphasis."""
  import librosa
  mel = toolkit_linear_mel(values, p)
  linear = np.maximum(1e-10, np.linalg.pinv(_mel_basis(p)) @ mel) ** POWER
  stft = lambda y: librosa.stft(y=y, n_fft=p["n_fft"], hop_length=p["hop"],
                                win_length=p["win"], pad_mode=p["pad_mode"])
  istft = lambda s: librosa.istft(s, hop_length=p["hop"], win_length=p["win"])
  rng = np.random.RandomState(seed)
  angles = np.exp(2j * np.pi * rng.rand(*linear.shape))
  y = istft(linear * angles)
  for _ in range(GL_ITERS):
    angles = np.exp(1j * np.angle(stft(y)))
    y = istft(linear * angles)
  if p["preemphasis"]:
    y = scipy.signal.lfilter([1], [1, -p["preemphasis"]], y)
  return y


# ----------------------------------------------------------------- scoring
def _pesq(reference, degraded, rate):
  import librosa
  if benchlib._pesq is None:  # pylint: disable=protected-access
    benchlib.note(f"pesq unavailable: {benchlib._PESQ_ERROR}")  # pylint: disable=protected-access
    return float("nan")
  ref16 = librosa.resample(np.asarray(reference, np.float64), orig_sr=rate, target_sr=16000)
  deg16 = librosa.resample(np.asarray(degraded, np.float64), orig_sr=rate, target_sr=16000)
  n = min(len(ref16), len(deg16))
  try:
    return float(benchlib._pesq(16000, ref16[:n], deg16[:n], "wb"))  # pylint: disable=protected-access
  except Exception as error:  # pylint: disable=broad-except
    benchlib.note(f"PESQ failed: {type(error).__name__}: {error}")
    return float("nan")


def score(waveform, target, clip, p, level_match):
  """SC of linear mels, SC of stored values, PESQ-WB; `waveform` cut/padded to the clip."""
  waveform = np.asarray(waveform, np.float64)
  n = len(clip)
  waveform = waveform[:n] if len(waveform) >= n else np.pad(waveform, (0, n - len(waveform)))
  gain = 1.0
  mel_target = toolkit_linear_mel(target, p)
  if level_match:
    free = (target > _range(p)[0]) & (target < _range(p)[1])
    mel = toolkit_linear_mel(toolkit_mel(waveform, p), p)
    gain = float(np.sum(mel[free] * mel_target[free]) / max(np.sum(mel[free] ** 2), 1e-300))
  values = toolkit_mel(waveform * gain, p)
  return {"sc": benchlib.sc_db(toolkit_linear_mel(values, p), mel_target),
          "sc_norm": benchlib.sc_db(values, target), "gain": gain,
          "pesq": _pesq(clip, waveform, p["sr"]), "peak": float(np.max(np.abs(waveform)))}


def run_cli(target, flags, folder):
  """main.py on the saved mel in a fresh process: (samples as written, rate, seconds, stderr)."""
  import soundfile
  mel_path, out_path = os.path.join(folder, "mel.npy"), os.path.join(folder, "out.wav")
  np.save(mel_path, target.astype(np.float32))
  if os.path.exists(out_path):
    os.remove(out_path)
  started = time.perf_counter()
  process = subprocess.run([sys.executable, MAIN, mel_path, out_path, *flags, "--quiet"],
                           cwd=_REPO, capture_output=True, text=True, check=False)
  seconds = time.perf_counter() - started
  if process.returncode != 0:
    raise RuntimeError(f"main.py exited {process.returncode}: {process.stderr.strip()}")
  samples, rate = soundfile.read(out_path, dtype="float64")
  return samples, rate, seconds, process.stderr.strip()


# -------------------------------------------------------------------- main
def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  benchlib.add_corpus_arguments(parser)
  parser.set_defaults(clips="speech_*", max_seconds=3.0)
  args = parser.parse_args()
  _, paths = benchlib.select_paths(parser, args)
  import librosa
  import tensorflow as tf
  import tfspecinv
  header = ["# TTS toolkit mels through main.py", ""] + benchlib.machine_lines(
      tf, tfspecinv, librosa) + [
          f"- clips: {', '.join(os.path.basename(p) for p in paths)}, first "
          f"{args.max_seconds:g} s, resampled to each toolkit's rate by librosa.load",
          "- main.py: `python main.py mel.npy out.wav --convention=NAME [flags]` in a fresh "
          "process (16-bit PCM, --normalize=auto); toolkit: its Griffin-Lim (power 1.5, 60 "
          "iterations, random phase, de-emphasis) in this process, scored at the best-fitting gain",
          "- SC: linear mel magnitudes of the output (recomputed by the NumPy reference of the "
          "toolkit) against the input's; SC norm: the stored normalised values; PESQ-WB against "
          "the clip at the toolkit's rate (16 kHz)"]
  lines = ["| clip | row | flags | main.py SC dB | SC norm dB | PESQ-WB | peak | seconds | "
           "toolkit GL SC dB | SC norm dB | PESQ-WB | seconds |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
  summary = {}
  with tempfile.TemporaryDirectory() as folder:
    for path in paths:
      name = os.path.splitext(os.path.basename(path))[0]
      for row, p, flags in ROWS:
        clip, _ = librosa.load(path, sr=p["sr"], mono=True)
        # A whole number of hops: the frames then span exactly the clip, and the
        # output (num_samples of the frames) has the clip's length.
        n = int(args.max_seconds * p["sr"]) // p["hop"] * p["hop"]
        clip = clip[:n].astype(np.float64)
        target = toolkit_mel(clip, p)
        try:
          samples, rate, cli_seconds, stderr = run_cli(target, flags, folder)
        except RuntimeError as error:
          benchlib.note(f"{name} {row}: {error}")
          continue
        if rate != p["sr"]:
          benchlib.note(f"{name} {row}: main.py wrote {rate} Hz, expected {p['sr']}")
        scaled = "scaled to 0.99" in stderr
        if stderr:
          benchlib.note(f"{name} {row}: main.py said: {stderr}")
        ours = score(samples, target, clip, p, level_match=scaled)
        started = time.perf_counter()
        theirs_wave = toolkit_griffin_lim(target.astype(np.float32).astype(np.float64), p)
        gl_seconds = time.perf_counter() - started
        # Magnitudes ** 1.5 change the level: the toolkits peak-normalise when they
        # save; scored here at the best-fitting gain.
        theirs = score(theirs_wave, target, clip, p, level_match=True)
        summary.setdefault(row, []).append((ours, theirs))
        level = f" (gain {ours['gain']:.3g})" if scaled else ""
        lines.append(
            f"| {name} | {row} | `{' '.join(flags)}` | **{ours['sc']:.2f}**{level} | "
            f"{ours['sc_norm']:.2f} | **{ours['pesq']:.2f}** | {ours['peak']:.2f} | "
            f"{cli_seconds:.1f} | {theirs['sc']:.2f} | {theirs['sc_norm']:.2f} | "
            f"{theirs['pesq']:.2f} | {gl_seconds:.1f} |")
        print(lines[-1], flush=True)
  medians = ["| row | clips | main.py SC dB (worst) | PESQ-WB (worst) | toolkit GL SC dB | "
             "PESQ-WB | targets met (SC <= -30, PESQ-WB >= 3.5) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
  for row, pairs in summary.items():
    ours = {k: np.array([o[k] for o, _ in pairs]) for k in ("sc", "pesq")}
    theirs = {k: np.array([t[k] for _, t in pairs]) for k in ("sc", "pesq")}
    met = int(np.sum((ours["sc"] <= -30.0) & (ours["pesq"] >= 3.5)))
    medians.append(
        f"| {row} | {len(pairs)} | {np.median(ours['sc']):.2f} ({np.max(ours['sc']):.2f}) | "
        f"{np.median(ours['pesq']):.2f} ({np.min(ours['pesq']):.2f}) | "
        f"{np.median(theirs['sc']):.2f} | {np.median(theirs['pesq']):.2f} | "
        f"{met} of {len(pairs)} |")
  text = "\n".join(header) + "\n\n## Medians\n\n" + "\n".join(medians) + "\n\n## Per clip\n\n" + \
      "\n".join(lines) + "\n"
  if benchlib.NOTES:
    text += "\n## Notes\n\n" + "\n".join(f"- {n}" for n in benchlib.NOTES) + "\n"
  os.makedirs(args.results_dir, exist_ok=True)
  out = os.path.join(args.results_dir, "tts.md")
  with open(out, "w") as handle:
    handle.write(text)
  print(text)
  print(f"wrote {out}")


if __name__ == "__main__":
  main()

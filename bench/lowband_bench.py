"""The term that keeps bins below the lowest mel band near silent, on and off, per mel preset.

`optimize.WaveformProblem` (default 'mixed' loss) adds
`UNDETERMINED_WEIGHT * sum((u |X|^power)^2) / sum(target^2)`, with `u` from
`mel.undetermined_bin_weights` (non-zero only below the lowest band's peak
when fmin > 0). This script inverts the same features with
`UNDETERMINED_WEIGHT` as shipped and with 0 (the term off) in one process,
through `tfspecinv.reconstruct` with its defaults, on the corpus's real
speech clips (first 3 s, resampled to each preset's rate, features from
`tfspecinv.forward`). Scores: the engine's mel SC and PESQ-WB against the
resampled clip, plus the level error of 0-80 Hz and 80-115 Hz (dB, output
minus clip, from a 1024-point STFT at 22050 Hz after resampling back).
Presets with fmin 0 (librosa, coqui) have `u` all zero: the two runs must
match. Writes bench/results/lowband.md.

  PYTHONPATH=. python bench/lowband_bench.py [--clips 'speech_*'] [--max_seconds 3]
"""

import argparse
import os
import statistics
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib  # pylint: disable=wrong-import-position

PRESETS = [("tensorflowtts", dict(), "fmin 80"), ("rtvc", dict(), "fmin 55, pre-emphasis"),
           ("coqui", dict(), "fmin 0"), ("librosa", dict(representation="mel", scale="db"),
                                         "mel, power 2, dB, fmin 0")]
BANDS = [(0.0, 80.0), (80.0, 115.0)]


def _band_db(y, rate):
  import librosa
  y = librosa.resample(y, orig_sr=rate, target_sr=22050) if rate != 22050 else y
  power = np.abs(librosa.stft(y, n_fft=1024, hop_length=256)) ** 2
  freqs = np.arange(power.shape[0]) * 22050 / 1024
  return np.array([10 * np.log10(power[(freqs >= a) & (freqs < b)].sum() + 1e-20)
                   for a, b in BANDS])


def _pesq(reference, rate, waveform):
  import librosa
  from pesq import pesq
  n = min(len(reference), len(waveform))
  return float(pesq(16000, librosa.resample(reference[:n], orig_sr=rate, target_sr=16000),
                    librosa.resample(waveform[:n], orig_sr=rate, target_sr=16000), "wb"))


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  benchlib.add_corpus_arguments(parser)
  parser.set_defaults(clips="speech_*", max_seconds=3.0)
  args = parser.parse_args()
  import librosa
  import tensorflow as tf
  import tfspecinv
  from tfspecinv import conventions, optimize, pipeline
  _, paths = benchlib.select_paths(parser, args)
  paths = [p for p in paths if not os.path.basename(p).startswith("synthetic_")]
  names = [os.path.splitext(os.path.basename(p))[0] for p in paths]
  shipped = optimize.UNDETERMINED_WEIGHT
  rows = []
  for preset, overrides, note in PRESETS:
    config = conventions.get(preset)(**overrides)
    clips = np.stack([librosa.load(p, sr=config.sample_rate, duration=args.max_seconds)[0]
                      for p in paths]).astype(np.float32)
    features = np.asarray(tfspecinv.forward(clips, config))
    for weight in (0.0, shipped):
      optimize.UNDETERMINED_WEIGHT = weight
      pipeline.engine_for.cache_clear()
      waveform, result = tfspecinv.reconstruct(features, config)
      waveform = np.asarray(waveform, np.float64)
      sc = np.asarray(result.spectral_convergence_db).ravel()
      for i, name in enumerate(names):
        reference = clips[i].astype(np.float64)
        rows.append(dict(preset=f"{preset} ({note})", weight=weight, clip=name, sc=float(sc[i]),
                         pesq=_pesq(reference, config.sample_rate, waveform[i]),
                         bands=_band_db(waveform[i], config.sample_rate) -
                         _band_db(reference, config.sample_rate)))
        print(rows[-1], flush=True)
  optimize.UNDETERMINED_WEIGHT = shipped
  summary = ["| preset | term | median mel SC, dB | median PESQ-WB | worst PESQ-WB | "
             "median 0-80 Hz error, dB | median 80-115 Hz error, dB |",
             "|:---|:---|---:|---:|---:|---:|---:|"]
  detail = ["| preset | clip | term | mel SC, dB | PESQ-WB | 0-80 Hz, dB | 80-115 Hz, dB |",
            "|:---|:---|:---|---:|---:|---:|---:|"]
  label = lambda w: "off (0)" if w == 0 else f"on ({w:g})"
  for preset, overrides, note in PRESETS:
    for weight in (0.0, shipped):
      sel = [r for r in rows if r["preset"] == f"{preset} ({note})" and r["weight"] == weight]
      summary.append(
          f"| {preset} ({note}) | {label(weight)} | {statistics.median(r['sc'] for r in sel):.2f} | "
          f"{statistics.median(r['pesq'] for r in sel):.2f} | {min(r['pesq'] for r in sel):.2f} | "
          f"{statistics.median(r['bands'][0] for r in sel):+.1f} | "
          f"{statistics.median(r['bands'][1] for r in sel):+.1f} |")
      detail.extend(f"| {r['preset']} | {r['clip']} | {label(weight)} | {r['sc']:.2f} | "
                    f"{r['pesq']:.2f} | {r['bands'][0]:+.1f} | {r['bands'][1]:+.1f} |" for r in sel)
  header = ["# Bins below the lowest mel band: the L-BFGS term on and off, per preset", "",
            *benchlib.machine_lines(tf, tfspecinv, librosa),
            f"- clips: {', '.join(names)} (first {args.max_seconds:g} s, at each preset's rate)",
            "- features from `tfspecinv.forward`; `tfspecinv.reconstruct` defaults; 'off' sets "
            "`optimize.UNDETERMINED_WEIGHT = 0` in the same process",
            "- band errors: output minus clip, energy over the clip, 1024-point STFT at 22050 Hz"]
  text = "\n".join(header) + "\n\n" + "\n".join(summary) + "\n\n" + "\n".join(detail) + "\n"
  os.makedirs(args.results_dir, exist_ok=True)
  with open(os.path.join(args.results_dir, "lowband.md"), "w") as handle:
    handle.write(text)
  print(text)


if __name__ == "__main__":
  sys.exit(main())

r"""What `method='auto'` picks, against each alternative at equal wall time, per representation.

For every corpus clip (resampled to 22050 Hz, n_fft 1024, hop 256) and each
representation made by librosa:

  stft  `abs(stft(y))`; baseline `librosa.griffinlim(n_iter=300)`, and the equal
        time T is librosa's wall time on that clip;
  mel   `melspectrogram(power=2, n_mels=80, fmax=8000)`; baseline
        `mel_to_audio` (32 iterations); T is the wall time of tfspecinv's
        defaults (method='auto', no budget);
  mfcc  40 of 128 mel bands, `power_to_db`, ortho DCT; baseline `mfcc_to_audio`;
        T as for mel.

Engine runs: 'auto' with no budget (the defaults, timed; for stft also
Griffin-Lim alone for 1000 iterations), and at `time_budget=T`
each alternative: 'auto', 'griffin_lim' (Griffin-Lim alone until the budget),
'short GL' (32 Griffin-Lim iterations then L-BFGS), 'long GL' (Griffin-Lim on
half the budget, then L-BFGS), and 'joint'. Scores are computed here in
float64 with librosa: spectral convergence (SC) of the given representation
(the MFCCs for mfcc), log-spectral distance (LSD) of the STFT power for stft
and of the mel power otherwise, PESQ-WB and STOI where they import.

Run from the repository root:

  python bench/auto_bench.py                                   # ~25 min on 2 cores
  python bench/auto_bench.py --representations stft --max_seconds 3 --clips 'speech_*'

Writes bench/results/auto.md (command, commit, machine, versions, tables).
"""

import argparse
import os
import sys
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
  sys.path.insert(0, _HERE)

import numpy as np  # noqa: E402

import benchlib as rb  # noqa: E402

SR, N_FFT, HOP = rb.SR, rb.N_FFT, rb.HOP
MFCC_MELS, N_MFCC = 128, 40
UNTIL = 1_000_000  # An iteration cap the time budget reaches first.

# (column, key, reconstruct keywords, timed at T?, representations)
ALL = ("stft", "mel", "mfcc")
ALTERNATIVES = [
    ("auto (defaults)", "auto", {}, False, ALL),
    ("GL 1000", "gl1000", dict(method="griffin_lim", gl_iters=1000), False, ("stft",)),
    ("auto @T", "auto_t", {}, True, ALL),
    ("GL only @T", "gl", dict(method="griffin_lim"), True, ALL),
    ("short GL @T", "short", dict(method="lbfgs", gl_iters=32, lbfgs_iters=UNTIL), True, ALL),
    ("long GL @T", "long", dict(method="lbfgs", gl_iters=UNTIL, lbfgs_iters=UNTIL), True, ALL),
    ("joint @T", "joint", dict(method="joint", gl_iters=32, lbfgs_iters=UNTIL), True, ALL),
]


def alternatives(representation):
  return [a for a in ALTERNATIVES if representation in a[4]]


class Representation:
  """Features, librosa baseline and scoring for one representation."""

  def __init__(self, name, tfspecinv):
    import librosa
    self.name = name
    self.librosa = librosa
    common = dict(sample_rate=SR, n_fft=N_FFT, hop_length=HOP)
    if name == "stft":
      self.config = tfspecinv.SpectrogramConfig.librosa(representation="stft", power=1.0,
                                                        **common)
    elif name == "mel":
      self.config = tfspecinv.SpectrogramConfig.librosa(representation="mel", n_mels=rb.N_MELS,
                                                        fmax=rb.FMAX, **common)
    else:
      self.config = tfspecinv.SpectrogramConfig.librosa(representation="mfcc", scale="db",
                                                        n_mels=MFCC_MELS, n_mfcc=N_MFCC,
                                                        **common)

  def mel_power(self, y, n_mels):
    return self.librosa.feature.melspectrogram(y=np.asarray(y, np.float64), sr=SR, n_fft=N_FFT,
                                               hop_length=HOP, n_mels=n_mels, power=2.0,
                                               fmax=rb.FMAX if n_mels == rb.N_MELS else None)

  def features(self, y):
    """(the given representation, the power used for LSD), float64."""
    if self.name == "stft":
      S = rb.mag_of(y)
      return S, S ** 2
    if self.name == "mel":
      M = self.mel_power(y, rb.N_MELS)
      return M, M
    M = self.mel_power(y, MFCC_MELS)
    C = self.librosa.feature.mfcc(S=self.librosa.power_to_db(M), n_mfcc=N_MFCC)
    return C, M

  def baseline(self, features, length):
    lib = self.librosa
    if self.name == "stft":
      return lib.griffinlim(features, n_iter=300, hop_length=HOP, n_fft=N_FFT, length=length,
                            random_state=0)
    if self.name == "mel":
      return lib.feature.inverse.mel_to_audio(features, sr=SR, n_fft=N_FFT, hop_length=HOP,
                                              power=2.0, n_iter=32, length=length, fmax=rb.FMAX)
    return lib.feature.inverse.mfcc_to_audio(features, n_mels=MFCC_MELS, sr=SR, n_fft=N_FFT,
                                             hop_length=HOP, length=length)

  def score(self, clip, waveform, seconds, features, power, extra=None):
    waveform = rb.checked_waveform(clip, waveform)
    estimate, estimate_power = self.features(waveform)
    row = {"sc": rb.sc_db(estimate, features), "lsd": rb.lsd_db(estimate_power, power),
           "s": seconds, "rtf": seconds / clip.duration}
    row["pesq"], row["stoi"] = rb.perceptual(clip, waveform)
    row.update(extra or {})
    return row


def run_representation(tfspecinv, rep, clips):
  """Per-clip results `{clip: {method: row}}` and the warm-up seconds."""
  warm_clip = clips[0].y[:int(rb.SHORT_SECONDS * SR)]
  warm_features = rep.features(warm_clip)[0].astype(np.float32)
  started = time.perf_counter()
  for _, key, kwargs, budgeted, _ in alternatives(rep.name):  # Trace every path once.
    rb.run_safely(f"warm-up {rep.name} {key}", lambda: rb.engine_call(
        tfspecinv, warm_features, rep.config, len(warm_clip),
        **dict(kwargs, time_budget=2.0 if budgeted else None)))
  warm = time.perf_counter() - started
  results = {}
  for index, clip in enumerate(clips):
    features, power = rep.features(clip.y)
    given = features.astype(np.float32)
    per = results.setdefault(clip.name, {})
    out = rb.run_safely(f"librosa {rep.name} {clip.name}",
                        lambda: rb.timed(rep.baseline, features, len(clip.y)))
    if out:
      per["librosa"] = rep.score(clip, out[0], out[1], features, power)
    default = rb.run_safely(f"auto {rep.name} {clip.name}", lambda: rb.engine_call(
        tfspecinv, given, rep.config, len(clip.y)))
    if not default:
      continue
    per["auto"] = rep.score(clip, default[0], default[2], features, power,
                            rb.engine_extra(default[1]))
    budget = per["librosa"]["s"] if rep.name == "stft" and "librosa" in per else default[2]
    for _, key, kwargs, budgeted, _ in alternatives(rep.name):
      if key == "auto":
        continue
      out = rb.run_safely(f"{key} {rep.name} {clip.name}", lambda: rb.engine_call(
          tfspecinv, given, rep.config, len(clip.y), time_budget=budget if budgeted else None,
          **kwargs))
      if out:
        per[key] = rep.score(clip, out[0], out[2], features, power, rb.engine_extra(out[1]))
    print(f"[{rep.name}] {index + 1}/{len(clips)} {clip.name} (T {budget:.2f}s): " + ", ".join(
        f"{k} {v['sc']:.1f} dB {v['s']:.1f}s" for k, v in per.items()), flush=True)
  return results, warm


def tables_for(rep, clips, results, warm):
  methods = [("librosa", "librosa")] + [(a[0], a[1]) for a in alternatives(rep.name)]
  what = {"stft": "STFT magnitude", "mel": "mel power", "mfcc": "MFCCs"}[rep.name]
  equal = ("librosa griffinlim (300 it)'s wall time" if rep.name == "stft" else
           "the wall time of the defaults ('auto (defaults)')")
  prefix = f"{rep.name}:"
  tables = rb.quality_tables(prefix, clips, results, methods, what)
  tables[0].notes += [
      f"T = {equal}, per clip; '@T' runs get time_budget=T. 'GL only': method='griffin_lim'; "
      "'short GL': 32 Griffin-Lim iterations then L-BFGS; 'long GL': Griffin-Lim on half the "
      "budget then L-BFGS; 'joint': L-BFGS on the STFT with a consistency term. librosa: "
      + {"stft": "griffinlim(n_iter=300)", "mel": "mel_to_audio (32 iterations)",
         "mfcc": "mfcc_to_audio"}[rep.name] + " at its own time.",
      f"LSD is of the {'STFT' if rep.name == 'stft' else 'mel'} power."]
  extra = [("auto/lib", "{:.2f}", lambda c, p: rb.ratio(rb.metric(p, "auto", "s"),
                                                        rb.metric(p, "librosa", "s"))),
           ("auto/dur", "{:.2f}", lambda c, p: rb.metric(p, "auto", "rtf"))]
  tables.append(rb.metric_table(
      f"{prefix} wall seconds; auto/lib = the defaults' time over librosa's, auto/dur = over the "
      "clip's duration", clips, results, methods, "s", "{:.2f}", extra,
      notes=[f"warm-up (tracing every path on a 1 s clip): {warm:.1f} s"]))
  tables.append(rb.work_table(f"{prefix} work done by the engine", clips, results, methods[1:]))
  return tables


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  rb.add_corpus_arguments(parser)
  parser.add_argument("--representations", default="stft,mel,mfcc",
                      help="comma-separated subset of stft,mel,mfcc")
  args = parser.parse_args(argv)
  names = [n.strip() for n in args.representations.split(",") if n.strip()]
  unknown = set(names) - {"stft", "mel", "mfcc"}
  if unknown:
    parser.error(f"unknown representations {sorted(unknown)}; use stft, mel, mfcc")
  clips = rb.load_clips(parser, args)
  import librosa
  import tensorflow as tf
  import tfspecinv
  header = ["# method='auto' against each alternative at equal time", "",
            *rb.machine_lines(tf, tfspecinv, librosa),
            f"- {len(clips)} clips of {args.corpus}" +
            (f", cut to {args.max_seconds} s" if args.max_seconds else "") +
            f"; {SR} Hz, n_fft {N_FFT}, hop {HOP}; inputs made by librosa"]
  print("\n".join(header), flush=True)
  tables = []
  for name in names:
    rep = Representation(name, tfspecinv)
    results, warm = run_representation(tfspecinv, rep, clips)
    tables += tables_for(rep, clips, results, warm)
  rb.emit(tables)
  path, _ = rb.write_markdown(args.results_dir, "auto", header, tables)
  print(f"\n(markdown written to {path})", flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())

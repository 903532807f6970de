r"""The librosa drop-ins (`tfspecinv.compat.librosa`) against librosa, called as librosa's docs call them.

For every corpus clip (resampled to 22050 Hz, cut to 3 s), inputs made with
librosa's defaults and both sides called with nothing but what the docs pass:

  mel   `M = librosa.feature.melspectrogram(y=y, sr=sr)` (n_fft 2048, hop 512,
        128 Slaney mels, power 2); `librosa.feature.inverse.mel_to_audio(M, sr=sr)`
        against `tfspecinv.compat.librosa.mel_to_audio(M, sr=sr)`.
  stft  `S = np.abs(librosa.stft(y))`; `librosa.griffinlim(S)` against
        `tfspecinv.compat.librosa.griffinlim(S)` (n_iter 32 on both sides).

Scores, in float64 with librosa, of each output against the input it was given:
spectral convergence (SC) of the mel power / STFT magnitude, log-spectral
distance (LSD) of the mel power / STFT power, PESQ-WB (16 kHz, `pesq`) against
the clip. Seconds: the faster of two calls per side and clip, the two sides
alternating, after a warm-up call of each on the first clip (tfspecinv's first
call in a process pays for TensorFlow's import and tracing: reported apart).
A last table checks the targets (mel: PESQ-WB >= librosa's + 1.0, SC >= 15 dB
better, time <= 3x; stft: SC no worse, LSD better, time <= 2x; medians over
the real clips).

Run from the repository root:

  PYTHONPATH=. python bench/compat_bench.py --max-seconds 3            # ~10 min on 2 cores
  PYTHONPATH=. python bench/compat_bench.py --max-seconds 3 --clips 'speech_*'

Writes bench/results/compat.md (command, commit, machine, versions, tables).
"""

import argparse
import os
import sys
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
  sys.path.insert(0, _HERE)

import numpy as np  # noqa: E402

import benchlib as bl  # noqa: E402

SIDES = [("librosa", "librosa"), ("tfspecinv.compat", "compat")]
REPEATS = 2


class Case:
  """One representation: its input, both calls and the scores."""

  def __init__(self, name, librosa, compat):
    self.name = name
    self.librosa = librosa
    if name == "mel":
      self.calls = {"librosa": lambda M: librosa.feature.inverse.mel_to_audio(M, sr=bl.SR),
                    "compat": lambda M: compat.mel_to_audio(M, sr=bl.SR)}
    else:
      self.calls = {"librosa": librosa.griffinlim, "compat": compat.griffinlim}

  def representation(self, y):
    """(the input as the docs make it, the float64 power it is scored against)."""
    lib = self.librosa
    if self.name == "mel":
      given = lib.feature.melspectrogram(y=y, sr=bl.SR)
      return given, np.float64(given)
    given = np.abs(lib.stft(y))
    return given, np.float64(given) ** 2

  def score(self, clip, waveform, given, power):
    waveform = np.nan_to_num(np.asarray(waveform, np.float64))
    estimate, estimate_power = self.representation(waveform)
    target = np.float64(given)
    frames = min(estimate.shape[-1], target.shape[-1])  # Equal unless a length is off.
    row = {"sc": bl.sc_db(estimate[..., :frames], target[..., :frames]),
           "lsd": bl.lsd_db(estimate_power[..., :frames], power[..., :frames]),
           "samples": len(waveform)}
    row["pesq"] = bl.perceptual(clip, waveform)[0]
    return row


def run_case(case, clips):
  """Per-clip rows `{clip: {side: row}}` and the warm-up seconds per side."""
  warm = {}
  given, _ = case.representation(clips[0].y)
  for _, side in SIDES:
    started = time.perf_counter()
    case.calls[side](given)
    warm[side] = time.perf_counter() - started
  results = {}
  for index, clip in enumerate(clips):
    given, power = case.representation(clip.y)
    per = results.setdefault(clip.name, {})
    order = SIDES if index % 2 == 0 else SIDES[::-1]
    outputs, seconds = {}, {side: [] for _, side in SIDES}
    for _ in range(REPEATS):
      for _, side in order:
        out, took = bl.timed(case.calls[side], given)
        outputs[side] = out
        seconds[side].append(took)
    for _, side in SIDES:
      row = case.score(clip, outputs[side], given, power)
      row["s"] = min(seconds[side])
      per[side] = row
    per["compat"]["ratio"] = per["compat"]["s"] / per["librosa"]["s"]
    print(f"{case.name} {clip.name}: " + "  ".join(
        f"{side} SC {per[side]['sc']:.2f} LSD {per[side]['lsd']:.2f} PESQ {per[side]['pesq']:.2f}"
        f" {per[side]['s']:.2f}s" for _, side in SIDES), flush=True)
  return results, warm


def _median(clips, results, side, key):
  values = [results[c.name][side][key] for c in clips if not c.synthetic and c.name in results]
  values = [v for v in values if np.isfinite(v)]
  return float(np.median(values)) if values else np.nan


def target_table(clips, all_results):
  """Each target of the issue, the medians over the real clips, met or not."""
  table = bl.Table("targets (medians over the real clips)",
                   ["target", "librosa", "tfspecinv.compat", "difference / ratio", "met"],
                   ["{}", "{:.2f}", "{:.2f}", "{:.2f}", "{}"])
  checks = [
      ("mel", "pesq", "mel_to_audio PESQ-WB >= librosa's + 1.0", lambda a, b: b - a, 1.0, True),
      ("mel", "sc", "mel_to_audio mel SC >= 15 dB better", lambda a, b: a - b, 15.0, True),
      ("mel", "s", "mel_to_audio time <= 3x librosa's", lambda a, b: b / a, 3.0, False),
      ("stft", "sc", "griffinlim SC no worse", lambda a, b: a - b, 0.0, True),
      ("stft", "lsd", "griffinlim LSD better", lambda a, b: a - b, 0.0, True),
      ("stft", "s", "griffinlim time <= 2x librosa's", lambda a, b: b / a, 2.0, False),
  ]
  for case, key, label, measure, bound, at_least in checks:
    if case not in all_results:
      continue
    a = _median(clips, all_results[case], "librosa", key)
    b = _median(clips, all_results[case], "compat", key)
    value = measure(a, b)
    strict = key == "lsd"
    met = (value > bound if strict else value >= bound) if at_least else value <= bound
    table.add([label, a, b, value, "yes" if met else "NO"])
  return table


def ratio_note(clips, results):
  ratios = [results[c.name]["compat"]["ratio"] for c in clips
            if not c.synthetic and c.name in results]
  return (f"per-clip time ratio tfspecinv.compat / librosa over the real clips: median "
          f"{np.median(ratios):.2f}, max {np.max(ratios):.2f}")


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  bl.add_corpus_arguments(parser)
  parser.add_argument("--cases", default="mel,stft", help="comma-separated: mel, stft")
  args = parser.parse_args(argv)
  cases = [c.strip() for c in args.cases.split(",") if c.strip()]
  if set(cases) - {"mel", "stft"}:
    parser.error("--cases takes mel and/or stft")
  clips = bl.load_clips(parser, args)

  started = time.perf_counter()
  import tfspecinv  # pylint: disable=import-outside-toplevel
  from tfspecinv.compat import librosa as compat  # pylint: disable=import-outside-toplevel
  import librosa  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  import_s = time.perf_counter() - started
  header = [
      "# librosa drop-ins (tfspecinv.compat.librosa) against librosa",
      "",
      *bl.machine_lines(tf, tfspecinv, librosa),
      f"- {len(clips)} clips of {args.corpus}"
      + (f", cut to {args.max_seconds} s" if args.max_seconds else "")
      + f"; {bl.SR} Hz; inputs with librosa's defaults (n_fft 2048, hop 512, 128 mels); "
      "calls as in librosa's docs: `mel_to_audio(M, sr=sr)`, `griffinlim(S)`",
      f"- seconds: the faster of {REPEATS} calls per side and clip, sides alternating; "
      "SC/LSD/PESQ-WB computed here with librosa in float64",
  ]
  if bl._pesq is None:  # pylint: disable=protected-access
    bl.note("pesq not importable; PESQ-WB columns are empty")
  print("\n".join(header), flush=True)

  tables, all_results, warm_lines = [], {}, []
  for name in cases:
    case = Case(name, librosa, compat)
    results, warm = run_case(case, clips)
    all_results[name] = results
    what = ("mel_to_audio(M, sr=sr)" if name == "mel" else "griffinlim(S)")
    unit = "mel power" if name == "mel" else "STFT magnitude"
    tables += [
        bl.metric_table(f"{what}: spectral convergence of the {unit}, dB (lower is better)",
                        clips, results, SIDES, "sc", "{:.2f}"),
        bl.metric_table(f"{what}: log-spectral distance, dB (lower is better)", clips, results,
                        SIDES, "lsd", "{:.2f}"),
        bl.metric_table(f"{what}: PESQ-WB (higher is better)", clips, results, SIDES, "pesq",
                        "{:.2f}"),
        bl.metric_table(f"{what}: seconds per call", clips, results, SIDES, "s", "{:.2f}",
                        extra_columns=[("compat/librosa", "{:.2f}",
                                        lambda c, per: per["compat"]["ratio"])],
                        notes=[ratio_note(clips, results)]),
    ]
    warm_lines.append(f"- {what}: first call on the first clip (warm-up): librosa "
                      f"{warm['librosa']:.2f} s, tfspecinv.compat {warm['compat']:.2f} s "
                      "(tracing and XLA compilation for this shape)")
  tables.append(target_table(clips, all_results))
  header += [f"- importing tfspecinv.compat.librosa, librosa and TensorFlow: {import_s:.2f} s",
             *warm_lines, f"- run took {time.perf_counter() - started:.0f} s"]
  bl.emit(tables)
  path, _ = bl.write_markdown(args.results_dir, "compat", header, tables)
  print(f"\n(markdown written to {path})")
  for message in bl.NOTES:
    print(f"NOTE: {message}")


if __name__ == "__main__":
  main()

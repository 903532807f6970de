"""Cost and fit of a stereo round trip against a mono one, in the same run.

  PYTHONPATH=. python bench/channels_bench.py [--clips=GLOB,...] [--seconds=3] [--cli_clips=2]

Corpus clips are resampled to 48 kHz, cut to `--seconds` and made stereo: the
right channel is a 10 ms delayed copy of the left, 6 dB quieter. Written as
PCM_24 (stereo) and each channel alone (mono PCM_24), they are round-tripped
with main.py's defaults (librosa mel, n_fft 2048, hop 512, 128 bands,
`method='auto'`) two ways:

* in one process with a warm engine (`tfspecinv.reconstruct`, each shape
  compiled before timing): the stereo mel `[2, 128, frames]` in one call,
  against the left channel alone and the right channel alone;
* as a user runs it, `python main.py st.wav out.wav` against
  `python main.py left.wav out.wav`, each in a fresh process (start-up
  included), for the first `--cli_clips` clips.

Each output channel's fit is measured by librosa in float64 against its own
channel's mel: spectral convergence, dB. Writes bench/results/channels.md.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(_REPO, "bench"))
sys.path.insert(0, _REPO)

import numpy as np  # noqa: E402  pylint: disable=wrong-import-position

import benchlib  # noqa: E402  pylint: disable=wrong-import-position

RATE = 48000
DELAY = 480  # 10 ms
GAIN_DB = -6.0
DEFAULT_CLIPS = ("speech_female_ljspeech_*,speech_male_vctk_*,music_piano_smstools_*,"
                 "music_band_macleod_*,environmental_rain_*")


def mel_of(y):
  """main.py's default round-trip representation, by librosa in float64."""
  import librosa  # pylint: disable=import-outside-toplevel
  return librosa.feature.melspectrogram(y=np.asarray(y, np.float64), sr=RATE)


def stereo_of(path, seconds):
  """`[2, samples]` float64: the clip at 48 kHz and its delayed, quieter copy."""
  import librosa  # pylint: disable=import-outside-toplevel
  y, _ = librosa.load(path, sr=RATE, duration=seconds)
  y = np.pad(y, (0, max(0, int(seconds * RATE) - len(y))))
  y = 0.5 * y / max(np.max(np.abs(y)), 1e-9)
  right = 10 ** (GAIN_DB / 20) * np.concatenate([np.zeros(DELAY), y[:-DELAY]])
  return np.stack([y, right]).astype(np.float64)


def in_process(clips, seconds):
  """Warm-engine timings and per-channel fits; rows of (name, dict)."""
  import tfspecinv  # pylint: disable=import-outside-toplevel
  config = tfspecinv.SpectrogramConfig.librosa(sample_rate=RATE, representation="mel")
  rows = []
  warmed = False
  for path in clips:
    st = stereo_of(path, seconds)
    # The input as main.py reads it (PCM_24), its mel by the engine's forward model.
    st = np.round(st * 2 ** 23) / 2 ** 23
    mel = tfspecinv.forward(st.astype(np.float32), config).numpy()
    if not warmed:  # Compile both shapes before timing anything.
      tfspecinv.reconstruct(mel, config, length=st.shape[1])
      tfspecinv.reconstruct(mel[0], config, length=st.shape[1])
      warmed = True
    started = time.perf_counter()
    both, _ = tfspecinv.reconstruct(mel, config, length=st.shape[1])
    stereo_s = time.perf_counter() - started
    mono, mono_s = [], []
    for channel in range(2):
      started = time.perf_counter()
      alone, _ = tfspecinv.reconstruct(mel[channel], config, length=st.shape[1])
      mono_s.append(time.perf_counter() - started)
      mono.append(alone)
    targets = [mel_of(st[c]) for c in range(2)]
    rows.append((os.path.basename(path), {
        "stereo_s": stereo_s, "mono_s": mono_s,
        "stereo_sc": [benchlib.sc_db(mel_of(both[c]), targets[c]) for c in range(2)],
        "mono_sc": [benchlib.sc_db(mel_of(mono[c]), targets[c]) for c in range(2)]}))
    print(rows[-1], flush=True)
  return rows


def with_cli(clips, seconds, work):
  """Fresh `python main.py` processes: stereo file against its left channel; rows."""
  import soundfile  # pylint: disable=import-outside-toplevel
  rows = []
  for path in clips:
    st = stereo_of(path, seconds)
    name = os.path.splitext(os.path.basename(path))[0]
    stereo_in, left_in = os.path.join(work, name + "_st.wav"), os.path.join(work, name + "_l.wav")
    soundfile.write(stereo_in, st.T, RATE, subtype="PCM_24")
    soundfile.write(left_in, st[0], RATE, subtype="PCM_24")
    row = {}
    for label, source in (("stereo", stereo_in), ("mono", left_in)):
      out = os.path.join(work, f"{name}_{label}_out.wav")
      started = time.perf_counter()
      process = subprocess.run([sys.executable, "main.py", source, out, "--overwrite"],
                               cwd=_REPO, capture_output=True, text=True)
      row[label + "_s"] = time.perf_counter() - started
      if process.returncode != 0:
        benchlib.note(f"main.py {source} exited {process.returncode}: "
                      f"{process.stderr.strip().splitlines()[-1:]}")
      info = soundfile.info(out)
      written = soundfile.read(out, dtype="float64", always_2d=True)[0].T
      row[label + "_format"] = f"{info.channels} ch, {info.samplerate} Hz, {info.subtype}"
      row[label + "_sc"] = [benchlib.sc_db(mel_of(written[c]), mel_of(
          soundfile.read(source, dtype="float64", always_2d=True)[0].T[c]))
                            for c in range(written.shape[0])]
    rows.append((os.path.basename(path), row))
    print(rows[-1], flush=True)
  return rows


def _fits(values):
  return " / ".join(f"{v:.2f}" for v in values)


def tables(warm, cli, seconds):
  lines = [f"## Warm engine, one process ({seconds:g} s clips, `tfspecinv.reconstruct` defaults)",
           "", "| clip | stereo s (one call) | mono s (left) | mono s (right) | stereo / mono "
           "(left) | SC stereo L / R, dB | SC mono L / R, dB | largest |diff|, dB |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
  ratios, diffs = [], []
  for name, r in warm:
    ratio = r["stereo_s"] / r["mono_s"][0]
    diff = max(abs(a - b) for a, b in zip(r["stereo_sc"], r["mono_sc"]))
    ratios.append(ratio)
    diffs.append(diff)
    lines.append(f"| {name} | {r['stereo_s']:.2f} | {r['mono_s'][0]:.2f} | {r['mono_s'][1]:.2f} "
                 f"| {ratio:.2f} | {_fits(r['stereo_sc'])} | {_fits(r['mono_sc'])} | "
                 f"{diff:.3f} |")
  if warm:
    total_st = sum(r["stereo_s"] for _, r in warm)
    total_mono = sum(r["mono_s"][0] for _, r in warm)
    total_two = sum(sum(r["mono_s"]) for _, r in warm)
    lines += ["", f"Median stereo / mono time: {np.median(ratios):.2f} (total {total_st:.1f} s "
              f"stereo against {total_mono:.1f} s for the left channels alone and "
              f"{total_two:.1f} s for both channels one after the other); largest per-channel "
              f"fit difference, stereo against mono: {max(diffs):.3f} dB."]
  if cli:
    lines += ["", "## Fresh `python main.py IN OUT` processes (defaults, start-up included)", "",
              "| clip | stereo wall s | mono wall s | stereo / mono | stereo output | "
              "mono output | SC stereo L / R, dB | SC mono L, dB |",
              "| --- | ---: | ---: | ---: | --- | --- | ---: | ---: |"]
    for name, r in cli:
      lines.append(f"| {name} | {r['stereo_s']:.1f} | {r['mono_s']:.1f} | "
                   f"{r['stereo_s'] / r['mono_s']:.2f} | {r['stereo_format']} | "
                   f"{r['mono_format']} | {_fits(r['stereo_sc'])} | {_fits(r['mono_sc'])} |")
  return lines


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  benchlib.add_corpus_arguments(parser)
  parser.set_defaults(clips=DEFAULT_CLIPS)
  parser.add_argument("--seconds", type=float, default=3.0)
  parser.add_argument("--cli_clips", type=int, default=2,
                      help="how many of the clips also run as fresh main.py processes")
  args = parser.parse_args()
  _, clips = benchlib.select_paths(parser, args)
  import librosa  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  import tfspecinv  # pylint: disable=import-outside-toplevel
  header = benchlib.machine_lines(tf, tfspecinv, librosa)
  warm = in_process(clips, args.seconds)
  with tempfile.TemporaryDirectory(prefix="channels-bench-") as work:
    cli = with_cli(clips[:args.cli_clips], args.seconds, work)
  body = ["# Stereo round trip against mono", ""] + header + [
      "", f"Inputs: {len(clips)} corpus clips at {RATE} Hz, {args.seconds:g} s, made stereo "
      f"(right = left delayed {DELAY / RATE * 1e3:g} ms, {GAIN_DB:g} dB), PCM_24. SC: spectral "
      "convergence of each output channel's librosa mel (n_fft 2048, hop 512, 128 bands) "
      "against its own channel's, float64.", ""] + tables(warm, cli, args.seconds)
  body += [""] + [f"NOTE: {n}" for n in benchlib.NOTES]
  text = "\n".join(body).rstrip() + "\n"
  print(text)
  benchlib.write_results(args.results_dir, "channels", text)


if __name__ == "__main__":
  main()

"""The README's pictures, and the measurements behind them.

  PYTHONPATH=. python bench/figures.py            # about 6-10 minutes on 2 CPU cores

Writes:

* docs/spectrograms.png: the STFT magnitude (dB) of one corpus clip, of librosa
  `mel_to_audio`'s reconstruction from its mel spectrogram and of
  `tfspecinv.reconstruct`'s (defaults), side by side.
* docs/quality_time.png: mel spectral convergence, log-spectral distance and
  PESQ-WB against wall seconds, medians over the corpus's real clips cut to
  3 s: tfspecinv at several L-BFGS iteration counts (the curve the default's
  count is read from) and `time_budget`s, and librosa `mel_to_audio` at
  several `n_iter`.
* bench/results/figures.md: every plotted point, headed by the command, the
  commit, the machine and the library versions.

Mel settings as in reconstruct_bench.py: 22050 Hz, n_fft 1024, hop 256, 80
Slaney mels, fmax 8000, power 2, made by librosa. Timings are warm (one
untimed call of each engine on the same shape first).
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

_REPO = os.path.dirname(_HERE)
DEFAULT_PICTURE_CLIP = "speech_female_ljspeech_LJ001-0004"
BUDGETS = (0.5, 1.0, 2.0, 4.0)
LBFGS_ITERS = (50, 100, 200, 300, 400, 600, 800, 1600)
FIELDS = ("seconds", "sc", "lsd", "pesq")
LIBROSA_ITERS = (8, 16, 32, 64, 128, 256)
LIBROSA_REPEATS = 2  # librosa is timed twice (the faster counts): its time is mostly NNLS.


class Table:
  """A markdown block with the `text()` / `markdown()` pair that `rb.emit` and
  `rb.write_markdown` use."""

  def __init__(self, lines):
    self.body = "\n".join(lines)

  def text(self):
    return self.body

  def markdown(self):
    return self.body


def librosa_invert(mel, n_iter, length):
  import librosa
  return librosa.feature.inverse.mel_to_audio(
      mel, sr=rb.SR, n_fft=rb.N_FFT, hop_length=rb.HOP, fmax=rb.FMAX, power=2.0,
      n_iter=n_iter, length=length)


def engine_invert(tfspecinv, config, mel, length, **kwargs):
  waveform, result = tfspecinv.reconstruct(mel, config, length=length, **kwargs)
  return waveform, result


def measure(clip, mel, fn, repeats=1):
  seconds = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    waveform = fn()
    seconds.append(time.perf_counter() - t0)
  seconds = min(seconds)
  waveform = rb.checked_waveform(clip, waveform)
  estimate = rb.mel_of(waveform)
  pesq, _ = rb.perceptual(clip, waveform)
  return {"seconds": seconds, "sc": rb.sc_db(estimate, mel), "lsd": rb.lsd_db(estimate, mel),
          "pesq": pesq, "waveform": waveform}


def stft_db(y):
  power = rb.mag_of(y) ** 2
  return 10 * np.log10(np.maximum(power, 1e-10 * power.max()) / power.max())


def plot_spectrograms(path, clip, panels):
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  fig, axes = plt.subplots(1, len(panels), figsize=(12, 3.6), sharey=True,
                           layout="constrained")
  extent = [0, clip.duration, 0, rb.SR / 2000]
  for ax, (title, y) in zip(axes, panels):
    image = ax.imshow(stft_db(y), origin="lower", aspect="auto", extent=extent, vmin=-80,
                      vmax=0, cmap="magma", interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("seconds")
    ax.set_ylim(0, 8)
  axes[0].set_ylabel("kHz")
  fig.colorbar(image, ax=list(axes), label="dB", shrink=0.9, pad=0.01)
  save_small(fig, path)
  plt.close(fig)


def save_small(fig, path, colors=96):
  """PNG at 100 dpi with an adaptive palette (a few hundred KB become well under 200)."""
  import io
  from PIL import Image
  buffer = io.BytesIO()
  fig.savefig(buffer, dpi=100, format="png")
  buffer.seek(0)
  Image.open(buffer).convert("RGB").quantize(colors=colors).save(path, optimize=True)


def plot_quality_time(path, series, defaults):
  """Three panels (SC, LSD, PESQ-WB) against seconds; `series` is [(name, marker, key, points)]."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  import matplotlib.ticker  # noqa: F401
  fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
  panels = (("sc", "mel spectral convergence, dB (lower is better)"),
            ("lsd", "log-spectral distance of the mel, dB (lower is better)"),
            ("pesq", "PESQ-WB (higher is better)"))
  for ax, (key, label) in zip(axes, panels):
    for name, marker, what, points in series:
      xs = [p["seconds"] for p in points]
      ax.plot(xs, [p[key] for p in points], marker=marker, label=name)
      for p in points:
        ax.annotate(f"{p[what]:g}", (p["seconds"], p[key]), fontsize=7,
                    textcoords="offset points", xytext=(3, 3))
    ax.plot([defaults["seconds"]], [defaults[key]], marker="*", markersize=14, color="black",
            linestyle="none", label="tfspecinv defaults")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xticks([0.25, 0.5, 1, 2, 4, 8])
    ax.set_xlabel("wall seconds per 3 s clip (median)")
    ax.set_ylabel(label, fontsize=8)
    ax.grid(True, alpha=0.3)
  axes[2].legend(fontsize=7, loc="lower right")
  fig.tight_layout()
  save_small(fig, path)
  plt.close(fig)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  rb.add_corpus_arguments(parser)
  parser.add_argument("--picture_clip", default=DEFAULT_PICTURE_CLIP)
  parser.add_argument("--docs_dir", default=os.path.join(_REPO, "docs"))
  parser.set_defaults(max_seconds=3.0)
  args = parser.parse_args(argv)
  clips = [c for c in rb.load_clips(parser, args) if not c.synthetic]
  import librosa
  import tensorflow as tf
  import tfspecinv
  header = ["# Figures: the README's spectrograms and quality against time", "",
            *rb.machine_lines(tf, tfspecinv, librosa),
            f"- {len(clips)} clips of {args.corpus}, cut to {args.max_seconds} s; {rb.SR} Hz, "
            f"n_fft {rb.N_FFT}, hop {rb.HOP}, {rb.N_MELS} Slaney mels, fmax {rb.FMAX:g}, "
            "power 2; mels made by librosa"]
  print("\n".join(header), flush=True)
  config = tfspecinv.SpectrogramConfig.librosa(
      sample_rate=rb.SR, n_fft=rb.N_FFT, hop_length=rb.HOP, n_mels=rb.N_MELS, fmax=rb.FMAX,
      representation="mel")
  mels = {c.name: rb.mel_of(c.y).astype(np.float32) for c in clips}

  # Warm-up on the first clip's shape (all clips share it): tracing and XLA compilation.
  first = clips[0]
  t0 = time.perf_counter()
  engine_invert(tfspecinv, config, mels[first.name], len(first.y))
  engine_invert(tfspecinv, config, mels[first.name], len(first.y), time_budget=1.0)
  librosa_invert(mels[first.name], 4, len(first.y))
  warm = time.perf_counter() - t0
  print(f"warm-up: {warm:.1f} s", flush=True)

  per_clip = {}
  for clip in clips:
    mel = mels[clip.name]
    rows = {}
    rows[("tfspecinv", "defaults")] = measure(
        clip, mel, lambda: engine_invert(tfspecinv, config, mel, len(clip.y))[0])
    for iters in LBFGS_ITERS:
      rows[("tfspecinv", f"lbfgs_iters={iters}")] = measure(
          clip, mel, lambda: engine_invert(tfspecinv, config, mel, len(clip.y),
                                           lbfgs_iters=iters)[0])
    for budget in BUDGETS:
      rows[("tfspecinv", budget)] = measure(
          clip, mel, lambda: engine_invert(tfspecinv, config, mel, len(clip.y),
                                           time_budget=budget)[0])
    for n_iter in LIBROSA_ITERS:
      rows[("librosa", n_iter)] = measure(
          clip, mel, lambda: librosa_invert(mel, n_iter, len(clip.y)), LIBROSA_REPEATS)
    per_clip[clip.name] = rows
    print(f"{clip.name}: " + ", ".join(
        f"{k[0]} {k[1]}: {v['sc']:.2f} dB {v['pesq']:.2f} {v['seconds']:.2f} s"
        for k, v in rows.items()), flush=True)

  def median(key, field):
    return float(np.median([per_clip[c.name][key][field] for c in clips]))

  iters_points = [{"iters": n, **{f: median(("tfspecinv", f"lbfgs_iters={n}"), f)
                                   for f in FIELDS}} for n in LBFGS_ITERS]
  engine_points = [{"budget": b, **{f: median(("tfspecinv", b), f) for f in FIELDS}}
                   for b in BUDGETS]
  librosa_points = [{"n_iter": n, **{f: median(("librosa", n), f) for f in FIELDS}}
                    for n in LIBROSA_ITERS]
  defaults = {f: median(("tfspecinv", "defaults"), f) for f in FIELDS}

  os.makedirs(args.docs_dir, exist_ok=True)
  quality_png = os.path.join(args.docs_dir, "quality_time.png")
  plot_quality_time(quality_png, [
      ("tfspecinv (lbfgs_iters)", "o", "iters", iters_points),
      ("tfspecinv (time_budget)", "^", "budget", engine_points),
      ("librosa mel_to_audio (n_iter)", "s", "n_iter", librosa_points)], defaults)

  # The picture: the picture clip among the selected ones, else loaded on its own.
  picture = next((c for c in clips if c.name == args.picture_clip), None)
  if picture is None:
    picture = rb.Clip(os.path.join(args.corpus, args.picture_clip + ".wav"), args.max_seconds)
  mel = rb.mel_of(picture.y).astype(np.float32)
  rows = per_clip.get(picture.name) or {
      ("librosa", 32): measure(picture, mel, lambda: librosa_invert(mel, 32, len(picture.y))),
      ("tfspecinv", "defaults"): measure(
          picture, mel, lambda: engine_invert(tfspecinv, config, mel, len(picture.y))[0])}
  lib, eng = rows[("librosa", 32)], rows[("tfspecinv", "defaults")]
  spectrograms_png = os.path.join(args.docs_dir, "spectrograms.png")
  plot_spectrograms(spectrograms_png, picture, [
      ("original\n", picture.y),
      ("librosa mel_to_audio (32 iterations)\n"
       f"mel SC {lib['sc']:.1f} dB, PESQ-WB {lib['pesq']:.2f}",
       lib["waveform"]),
      (f"tfspecinv.reconstruct (defaults)\nmel SC {eng['sc']:.1f} dB, PESQ-WB {eng['pesq']:.2f}",
       eng["waveform"])])

  tables = []
  lines = ["### Quality against wall time (median over the clips)", "",
           "| engine | setting | wall seconds | mel spectral convergence, dB | mel LSD, dB | "
           "PESQ-WB |", "|:---|---:|---:|---:|---:|---:|"]
  row = lambda engine, setting, p: (f"| {engine} | {setting} | {p['seconds']:.2f} | "
                                    f"{p['sc']:.2f} | {p['lsd']:.3f} | {p['pesq']:.2f} |")
  lines += [row("tfspecinv", f"lbfgs_iters={p['iters']}", p) for p in iters_points]
  lines += [row("tfspecinv", f"time_budget={p['budget']:g}", p) for p in engine_points]
  lines.append(row("tfspecinv", "defaults", defaults))
  lines += [row("librosa mel_to_audio", f"n_iter={p['n_iter']}", p) for p in librosa_points]
  lines += ["", f"Clips: {', '.join(c.name for c in clips)}. Warm-up (untimed): {warm:.1f} s. "
            f"librosa's times are the faster of {LIBROSA_REPEATS} runs; most of them is "
            "mel_to_audio's NNLS (mel to linear), not its Griffin-Lim iterations. "
            f"Plotted in [docs/quality_time.png](../../docs/quality_time.png)."]
  tables.append(Table(lines))
  lines = ["### Per clip", "",
           "| clip | engine | setting | wall seconds | mel SC, dB | mel LSD, dB | PESQ-WB |",
           "|:---|:---|---:|---:|---:|---:|---:|"]
  for clip in clips:
    for (engine, setting), v in per_clip[clip.name].items():
      lines.append(f"| {clip.name} | {engine} | {setting} | {v['seconds']:.2f} | "
                   f"{v['sc']:.2f} | {v['lsd']:.3f} | {v['pesq']:.2f} |")
  tables.append(Table(lines))
  lines = [f"### Spectrograms picture ({picture.name}, {picture.duration:.2f} s)", "",
           "| panel | mel spectral convergence, dB | PESQ-WB | wall seconds |",
           "|:---|---:|---:|---:|",
           f"| librosa mel_to_audio, n_iter=32 | {lib['sc']:.2f} | {lib['pesq']:.2f} | "
           f"{lib['seconds']:.2f} |",
           f"| tfspecinv.reconstruct, defaults | {eng['sc']:.2f} | {eng['pesq']:.2f} | "
           f"{eng['seconds']:.2f} |", "",
           "Rendered in [docs/spectrograms.png](../../docs/spectrograms.png)."]
  tables.append(Table(lines))
  rb.emit(tables)
  path, _ = rb.write_markdown(args.results_dir, "figures", header, tables)
  print(f"\n(markdown written to {path}; pictures {spectrograms_png}, {quality_png})", flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())

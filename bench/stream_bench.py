"""Streaming inversion (tfspecinv.StreamingInverter) on the corpus, beside the offline default and librosa.

One frame per push unless stated. Writes bench/results/stream.md:
  - quality: linear magnitudes (SC, dB) and librosa 80-band mels (SC of the mel, PESQ-WB on
    speech) for the streaming default, the offline default (`tfspecinv.reconstruct`) and
    librosa's offline inversion (`griffinlim`, `mel_to_audio`, 32 iterations), same run;
  - latency, compute per push (median over the pushes, the whole `push` call) against the hop;
  - a latency / quality / compute curve over look-ahead, iterations per frame and momentum;
  - chunking (1, 7, 64 frames per push) and the throughput of 16 streams batched.

  PYTHONPATH=. python bench/stream_bench.py --max_seconds 3
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402
import numpy as np  # noqa: E402

CURVE = [  # (lookahead, iterations, momentum)
    (0, 8, 0.9), (1, 8, 0.9), (2, 8, 0.9), (3, 2, 0.9), (3, 4, 0.9), (3, 8, 0.9), (3, 16, 0.9),
    (3, 8, 0.0), (5, 8, 0.9)]


def stream(tfspecinv, config, frames, chunk=1, batch=None, **settings):
  """Push `frames` (`[..., features, T]`) `chunk` at a time; (samples, seconds per push)."""
  warm = tfspecinv.StreamingInverter(config, batch=batch, **settings)
  warm.push(frames[..., :1])                                   # compile outside the timing
  inverter = tfspecinv.StreamingInverter(config, batch=batch, **settings)
  pieces, times = [], []
  for start in range(0, frames.shape[-1], chunk):
    part = np.ascontiguousarray(frames[..., start:start + chunk])
    began = time.perf_counter()
    pieces.append(inverter.push(part))
    times.append(time.perf_counter() - began)
  pieces.append(inverter.flush())
  return np.concatenate(pieces, -1), np.array(times), inverter


def sc_db(estimate, target):
  return float(20 * np.log10(np.linalg.norm(estimate - target) / np.linalg.norm(target)))


def med(values):
  values = [v for v in values if v == v]
  return float(np.median(values)) if values else float("nan")


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  bl.add_corpus_arguments(parser)
  args = parser.parse_args()
  clips = bl.load_clips(parser, args)
  import librosa  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  import tfspecinv  # pylint: disable=import-outside-toplevel
  header = ["# Streaming inversion", ""] + bl.machine_lines(tf, tfspecinv, librosa)
  lin_cfg = tfspecinv.SpectrogramConfig.librosa(sample_rate=bl.SR, n_fft=bl.N_FFT,
                                                hop_length=bl.HOP, power=1.0)
  mel_cfg = tfspecinv.SpectrogramConfig.librosa(sample_rate=bl.SR, n_fft=bl.N_FFT,
                                                hop_length=bl.HOP, n_mels=bl.N_MELS, fmax=bl.FMAX,
                                                representation="mel")
  hop_ms = 1000 * bl.HOP / bl.SR
  rows, pushes = [], {"stft": [], "mel": []}
  speech = [c for c in clips if c.name.startswith("speech")]
  for clip in clips:
    y = clip.y.astype(np.float32)
    mag = bl.mag_of(y).astype(np.float32)
    mel = bl.mel_of(y).astype(np.float32)
    row = {"clip": clip.label}
    out, times, inverter = stream(tfspecinv, lin_cfg, mag)
    pushes["stft"] += list(times)
    row["lin_stream"] = sc_db(bl.mag_of(out), mag)
    offline, _ = tfspecinv.reconstruct(mag, lin_cfg)
    row["lin_offline"] = sc_db(bl.mag_of(offline), mag)
    row["lin_librosa"] = sc_db(bl.mag_of(librosa.griffinlim(mag, hop_length=bl.HOP,
                                                            n_fft=bl.N_FFT)), mag)
    out, times, _ = stream(tfspecinv, mel_cfg, mel)
    pushes["mel"] += list(times)
    offline, _ = tfspecinv.reconstruct(mel, mel_cfg)
    ros = librosa.feature.inverse.mel_to_audio(mel, sr=bl.SR, n_fft=bl.N_FFT, hop_length=bl.HOP,
                                               fmax=bl.FMAX)
    for name, wave in (("stream", out), ("offline", offline), ("librosa", ros)):
      wave = np.asarray(wave, np.float64)
      row[f"mel_{name}"] = sc_db(bl.mel_of(wave), mel)
      row[f"pesq_{name}"] = bl.perceptual(clip, wave)[0] if clip in speech else float("nan")
    rows.append(row)
    print(row, flush=True)

  lines = header + [
      "", f"One frame per push; hop {bl.HOP} at {bl.SR} Hz = {hop_ms:.2f} ms; clips cut to "
      f"{args.max_seconds} s. Defaults: lookahead {inverter.module.lookahead}, "
      f"{inverter.module.iterations} FGLA iterations per frame, momentum "
      f"{inverter.module.momentum}, {inverter.module.nnls_iterations} NNLS steps per mel frame.",
      "", "## Latency and compute", "",
      "| | value |", "|---|---|",
      f"| latency (default, n_fft {bl.N_FFT}, hop {bl.HOP}) | {inverter.latency_samples} samples "
      f"= {1000 * inverter.latency_seconds:.1f} ms (limit n_fft + 3 hops = "
      f"{1000 * (bl.N_FFT + 3 * bl.HOP) / bl.SR:.1f} ms) |"]
  for rep in ("stft", "mel"):
    t = 1000 * np.array(pushes[rep])
    lines.append(f"| compute per push, {rep}, 1 stream (median / p90 over "
                 f"{len(t)} pushes) | {np.median(t):.2f} / {np.percentile(t, 90):.2f} ms = "
                 f"{100 * np.median(t) / hop_ms:.0f}% of the hop ({hop_ms / np.median(t):.1f}x "
                 "real time) |")

  # 16 streams batched.
  mels = np.stack([bl.mel_of(clips[i % len(clips)].y).astype(np.float32)
                   for i in range(16)])
  _, times, _ = stream(tfspecinv, mel_cfg, mels, batch=16)
  per = 1000 * np.median(times)
  lines.append(f"| compute per push, mel, 16 streams batched (median) | {per:.2f} ms per push "
               f"of 16 frames: {16 * hop_ms / per:.1f} streams' worth of real time |")

  # Chunking.
  mel = bl.mel_of(clips[0].y).astype(np.float32)
  outs = [stream(tfspecinv, mel_cfg, mel, chunk=c)[0] for c in (1, 7, 64)]
  peak = np.abs(outs[0]).max()
  diff = max(np.abs(o - outs[0]).max() for o in outs[1:]) / peak
  lines.append(f"| chunking: 1 vs 7 vs 64 frames per push ({clips[0].name}, mel) | max "
               f"difference {diff:.1e} of the peak (limit 1e-4) |")

  lines += ["", "## Quality (medians over clips)", "",
            "| input | streaming default | offline default (`reconstruct`) | librosa offline |",
            "|---|---|---|---|"]
  for key, what in (("lin", "linear magnitude: SC dB, all clips"),
                    ("mel", "80-band mel: SC of the mel dB, all clips"),
                    ("pesq", f"80-band mel: PESQ-WB, speech ({len(speech)} clips)")):
    vals = [med([r[f"{key}_{m}"] for r in rows]) for m in ("stream", "offline", "librosa")]
    lines.append(f"| {what} | {vals[0]:.2f} | {vals[1]:.2f} | {vals[2]:.2f} |")
  lines += ["", "### Per clip", "",
            "| clip | lin stream | lin offline | lin librosa | mel stream | mel offline | "
            "mel librosa | PESQ stream | PESQ offline | PESQ librosa |",
            "|---|" + "---|" * 9]
  for r in rows:
    lines.append(f"| {r['clip']} | " + " | ".join(
        f"{r[k]:.2f}" for k in ("lin_stream", "lin_offline", "lin_librosa", "mel_stream",
                                "mel_offline", "mel_librosa", "pesq_stream", "pesq_offline",
                                "pesq_librosa")) + " |")

  # Curve.
  lines += ["", "## Latency / quality / compute (speech clips, one frame per push)", "",
            "| lookahead | iterations | momentum | latency ms | mel push ms (median) | "
            "PESQ-WB mel | SC mel dB | SC linear dB |", "|---|---|---|---|---|---|---|---|"]
  for lookahead, iterations, momentum in CURVE:
    settings = dict(lookahead=lookahead, iterations=iterations, momentum=momentum)
    pesqs, scs, lins, times_all = [], [], [], []
    for clip in speech:
      y = clip.y.astype(np.float32)
      mel = bl.mel_of(y).astype(np.float32)
      out, times, inverter = stream(tfspecinv, mel_cfg, mel, **settings)
      times_all += list(times)
      pesqs.append(bl.perceptual(clip, out)[0])
      scs.append(sc_db(bl.mel_of(out), mel))
      mag = bl.mag_of(y).astype(np.float32)
      lins.append(sc_db(bl.mag_of(stream(tfspecinv, lin_cfg, mag, **settings)[0]), mag))
    lines.append(f"| {lookahead} | {iterations} | {momentum} | "
                 f"{1000 * inverter.latency_seconds:.1f} | {1000 * np.median(times_all):.2f} | "
                 f"{med(pesqs):.2f} | {med(scs):.2f} | {med(lins):.2f} |")
    print(lines[-1], flush=True)
  lines += ["", f"Load average at the end: {os.getloadavg()[0]:.2f}.", ""]
  os.makedirs(args.results_dir, exist_ok=True)
  path = os.path.join(args.results_dir, "stream.md")
  with open(path, "w") as handle:
    handle.write("\n".join(lines))
  print("\n".join(lines))
  print(f"wrote {path}")


if __name__ == "__main__":
  main()

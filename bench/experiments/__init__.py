"""The bench's experiments: name -> how it runs and which results files it writes.

An experiment is either a module here with `NAME`, `TITLE`, a grid (`GRID` or
`grid(args)`), `run(clip, setting) -> row` and `tables(context, rows)`, run by
`bench.runner.run_grid`; or one of the older scripts in bench/, run as it is
in a fresh process (`python bench/SCRIPT [flags]`), which writes its own
results through the runner's helpers (bench/benchlib.py re-exports them).
"""

import collections

Experiment = collections.namedtuple("Experiment", "name kind target results summary")
# kind 'grid': `target` is a module of this package; kind 'script': a file in bench/ and the
# flags put before the user's.

EXPERIMENTS = collections.OrderedDict((e.name, e) for e in [
    Experiment("parity", "grid", "parity", ("parity.md",),
               "the default reconstruct of two code versions (--before=COMMIT, --after=TREE) on "
               "mel, MFCC, STFT and picture inputs: median SC, LSD, PESQ-WB, seconds, verdict"),
    Experiment("auto", "script", ("auto_bench.py",), ("auto.md",),
               "method='auto' against every alternative at equal wall time and against librosa "
               "(stft, mel, MFCC)"),
    Experiment("reconstruct", "script", ("reconstruct_bench.py",),
               ("mel.md", "linear.md", "speed.md"),
               "mel and linear inputs in detail against librosa; per-iteration speed "
               "(--experiments mel,linear,speed)"),
    Experiment("mfcc", "script", ("mfcc_bench.py",), ("mfcc.md",),
               "MFCC inputs (40 and 80 coefficients) against librosa mfcc_to_audio"),
    Experiment("image", "grid", "image", ("image.md",),
               "spectrogram pictures (PNG, JPEG) against librosa griffinlim on the decoded values"),
    Experiment("pictures", "script", ("pictures_bench.py",), ("pictures.md",),
               "diffusion-model pictures (Riffusion, audio-diffusion) through main.py against "
               "each toolkit's own inversion"),
    Experiment("starts", "script", ("starts_bench.py",), ("starts.md",),
               "Griffin-Lim from each starting phase; the linear defaults against librosa"),
    Experiment("lbfgs", "script", ("lbfgs_bench.py",), ("lbfgs.md",),
               "the default mel inversion against a baseline commit: L-BFGS cost, quality, "
               "start-up"),
    Experiment("agla", "script", ("agla_bench.py",), ("agla.md",),
               "accelerated Griffin-Lim variants and momentum against plain Griffin-Lim"),
    Experiment("budget", "script", ("budget_bench.py",), ("budget.md",),
               "main.py --time_budget on linear magnitudes against librosa at the same time"),
    Experiment("compat", "script", ("compat_bench.py",), ("compat.md",),
               "the librosa drop-ins (tfspecinv.compat.librosa) against librosa"),
    Experiment("tts", "script", ("tts_bench.py",), ("tts.md",),
               "TTS toolkit mels through main.py --convention=NAME against each toolkit's "
               "Griffin-Lim"),
    Experiment("ttsstats", "script", ("ttsstats_bench.py",), ("ttsstats.md",),
               "TensorFlowTTS norm-feats and BigVGAN features through main.py (stats, "
               "model configs)"),
    Experiment("lowband", "script", ("lowband_bench.py",), ("lowband.md",),
               "the L-BFGS term for the bins below the lowest mel band, on and off, per mel "
               "preset (tensorflowtts, rtvc, coqui, librosa): mel SC, PESQ-WB, band errors"),
    Experiment("melstarts", "script", ("melstarts_bench.py",), ("melstarts.md",),
               "what limits mel_to_audio's PESQ-WB: magnitude starts (NNLS, smooth, sparse, "
               "mel-projected Griffin-Lim, the true |STFT|) and iteration counts"),
    Experiment("stream", "script", ("stream_bench.py",), ("stream.md",),
               "StreamingInverter one frame per push against the offline default and librosa"),
    Experiment("channels", "script", ("channels_bench.py",), ("channels.md",),
               "a stereo round trip against a mono one"),
    Experiment("beam", "script", ("beam_bench.py",), ("beam.md",),
               "python -m tfspecinv.beam throughput beside main.py's folder mode"),
    Experiment("long", "script", ("long_bench.py",), ("long_bench.md",),
               "batch throughput of the graph-mode engine; memory and time of hour-long inputs"),
    Experiment("figures", "script", ("figures.py",), ("figures.md",),
               "the README's pictures (docs/*.png) and every plotted point"),
    Experiment("gpu", "script", ("gpu_bench.py",), ("gpu.md",),
               "Griffin-Lim and default-inversion throughput on a GPU against its CPU "
               "(GPU machines only)"),
    Experiment("nightly", "script", ("nightly_report.py",), ("nightly.md",),
               "the report of `bash .ci/nightly` (tests on tf-nightly)"),
])

#!/usr/bin/env python
"""L-BFGS at its floor: the default mel inversion now and at a baseline commit, in one run.

Three parts, each engine in its own fresh process (the baseline is a git
worktree of --baseline, default the commit before the L-BFGS work):

  costs   On one clip (LJ Speech, 5.1 s): seconds per L-BFGS iteration of
          the default mel inversion (200 iterations, warm), objective
          evaluations per iteration, and the XLA Griffin-Lim iteration on the
          same clip's magnitudes, so the ratio is machine-independent.
  corpus  The default `reconstruct(mel, config)` on every real corpus clip
          (cut to --max_seconds): wall time over the clip's duration (warm:
          one untimed call on the same clip first), mel SC, LSD, PESQ-WB
          (scored here, in float64, as in reconstruct_bench.py), and
          evaluations per iteration.
  startup `python main.py MEL.npy OUT.wav` on a 1 s mel, whole process, 3
          times each: with an empty XLA compilation cache (cold) and with the
          cache the first run filled (warm); beside it `python -c "import
          tensorflow"` and `import tensorflow_probability` in the same run;
          and a fresh process's first `reconstruct` taken apart (import,
          NNLS, Griffin-Lim, the first L-BFGS chunk with its tracing and
          compilation, the rest).

  PYTHONPATH=. python bench/lbfgs_bench.py --max_seconds 3     # about 10 minutes

Writes bench/results/lbfgs.md.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
  sys.path.insert(0, _HERE)

import numpy as np  # noqa: E402

import benchlib as rb  # noqa: E402

_REPO = os.path.dirname(_HERE)
SPEED_CLIP = "speech_female_ljspeech_LJ001-0004"
BASELINE = "8258214"


# ------------------------------------------------------------- worker side
def _worker(spec_path):
  """Runs inside a fresh process; imports the engine under test from `spec['root']`."""
  spec = json.load(open(spec_path, encoding="utf-8"))
  # benchlib put this checkout first on sys.path; the engine under test goes before it.
  sys.path.insert(0, spec["root"])
  import tensorflow as tf  # noqa: F401  pylint: disable=import-outside-toplevel
  import tfspecinv  # pylint: disable=import-outside-toplevel
  config = tfspecinv.SpectrogramConfig.librosa(sample_rate=rb.SR, n_fft=rb.N_FFT,
                                               hop_length=rb.HOP, n_mels=rb.N_MELS,
                                               fmax=rb.FMAX, representation="mel")
  out = {"clips": {}, "engine": os.path.dirname(tfspecinv.__file__)}
  for name in spec["clips"]:
    mel = np.load(os.path.join(spec["dir"], f"{name}.mel.npy")).astype(np.float32)
    length = int(spec["lengths"][name])
    tfspecinv.reconstruct(mel, config, length=length)  # Warm: tracing and compilation.
    t0 = time.perf_counter()
    waveform, result = tfspecinv.reconstruct(mel, config, length=length)
    seconds = time.perf_counter() - t0
    np.save(os.path.join(spec["dir"], f"{name}.{spec['tag']}.npy"), waveform)
    out["clips"][name] = {"s": seconds, "lb_it": result.lbfgs_iterations,
                          "evals": result.lbfgs_evaluations,
                          "lbfgs_s": result.stage_seconds.get("lbfgs", float("nan"))}
  mel = np.load(os.path.join(spec["dir"], "speed.mel.npy")).astype(np.float32)
  mag = np.load(os.path.join(spec["dir"], "speed.mag.npy")).astype(np.float32)
  length = int(spec["speed_length"])
  stft = tfspecinv.SpectrogramConfig.librosa(sample_rate=rb.SR, n_fft=rb.N_FFT,
                                             hop_length=rb.HOP, representation="stft",
                                             power=1.0)
  gl = lambda n: np.asarray(tfspecinv.griffin_lim(mag, stft, iterations=n, length=length,
                                                  jit_compile=True))
  gl(10)
  rows = []
  for _ in range(3):
    _, t10 = rb.timed(gl, 10)
    _, t110 = rb.timed(gl, 110)
    kw = dict(length=length, gl_iters=32, lbfgs_iters=200)
    tfspecinv.reconstruct(mel, config, **kw)
    _, result = tfspecinv.reconstruct(mel, config, **kw)
    rows.append(((t110 - t10) / 100, result.stage_seconds["lbfgs"] / result.lbfgs_iterations,
                 result.lbfgs_evaluations / result.lbfgs_iterations))
  gl_it, lb_it, evals = np.median(np.array(rows), axis=0)
  out["speed"] = {"gl_it": gl_it, "lbfgs_it": lb_it, "evals_per_it": evals,
                  "ratio": float(np.median([r[1] / r[0] for r in rows]))}
  out["pairs"] = _correction_pairs(tfspecinv, config, mel, length)
  json.dump(out, open(spec["out"], "w", encoding="utf-8"))


def _correction_pairs(tfspecinv, config, mel, length):
  """ms per L-BFGS iteration and SC after 200 of them, per L-BFGS memory size."""
  from tfspecinv import optimize  # pylint: disable=import-outside-toplevel
  if not hasattr(optimize, "_NUM_CORRECTION_PAIRS"):
    return {}
  kept, out = optimize._NUM_CORRECTION_PAIRS, {}  # pylint: disable=protected-access
  try:
    for pairs in (3, 5, 10):
      optimize._NUM_CORRECTION_PAIRS = pairs  # pylint: disable=protected-access
      _fresh_engines(tfspecinv)
      kw = dict(length=length, gl_iters=32, lbfgs_iters=200)
      tfspecinv.reconstruct(mel, config, **kw)
      _, result = tfspecinv.reconstruct(mel, config, **kw)
      out[pairs] = (result.stage_seconds["lbfgs"] / result.lbfgs_iterations,
                    float(result.spectral_convergence_db))
  finally:
    optimize._NUM_CORRECTION_PAIRS = kept  # pylint: disable=protected-access
    _fresh_engines(tfspecinv)
  return out


def _fresh_engines(tfspecinv):
  """New runners for a changed memory size (their compiled signature holds it)."""
  from tfspecinv import pipeline  # pylint: disable=import-outside-toplevel
  pipeline.engine_for.cache_clear()


# ------------------------------------------------------------- parent side
def _worktree(rev, parent):
  path = os.path.join(parent, "baseline")
  subprocess.run(["git", "-C", _REPO, "worktree", "add", "--detach", path, rev], check=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  return path


def _run_engine(root, tag, work, clips, speed):
  spec = {"root": root, "dir": work, "tag": tag, "clips": [c.name for c in clips],
          "lengths": {c.name: len(c.y) for c in clips}, "speed_length": len(speed.y),
          "out": os.path.join(work, f"{tag}.json")}
  spec_path = os.path.join(work, f"{tag}.spec.json")
  json.dump(spec, open(spec_path, "w", encoding="utf-8"))
  env = dict(os.environ, PYTHONPATH=root + os.pathsep + _HERE, TF_CPP_MIN_LOG_LEVEL="3",
             TFSPECINV_XLA_CACHE=os.path.join(work, f"xla-{tag}"))
  code = f"import lbfgs_bench; lbfgs_bench._worker({spec_path!r})"
  subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=root)
  return json.load(open(spec["out"], encoding="utf-8"))


def _timed_process(args, env, cwd):
  t0 = time.perf_counter()
  done = subprocess.run(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE, text=True, check=False)
  if done.returncode != 0:
    rb.note(f"{' '.join(args[:3])} exited {done.returncode}: {done.stderr[-300:]}")
  return time.perf_counter() - t0


_FIRST_CALL = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np, tensorflow as tf, tfspecinv
from tfspecinv import optimize  # TensorFlow Probability too.
imported = time.perf_counter() - t0
mel = np.load(sys.argv[1]).astype(np.float32)
config = tfspecinv.SpectrogramConfig.librosa(sample_rate=22050, n_fft=1024, hop_length=256,
                                             n_mels=80, fmax=8000.0, representation="mel")
marks = []
_, result = tfspecinv.reconstruct(mel, config, progress=lambda p: marks.append(p))
first = next(p for p in marks if p.stage == "lbfgs")
stages = result.stage_seconds
print(json.dumps({"import": imported, "prepare": stages["prepare"],
                  "griffin_lim": stages["griffin_lim"],
                  "lbfgs_first": first.elapsed - stages["prepare"] - stages["griffin_lim"],
                  "lbfgs_first_iterations": first.iteration,
                  "lbfgs_rest": stages["lbfgs"] - (first.elapsed - stages["prepare"]
                                                   - stages["griffin_lim"]),
                  "lbfgs_iterations": result.lbfgs_iterations}))
"""


def _first_call(root, work, tag, mel_path):
  """Where a fresh process's first inversion of a 1 s mel goes: cold cache, then warm."""
  cache = os.path.join(work, f"first-xla-{tag}")
  env = dict(os.environ, PYTHONPATH=root, TF_CPP_MIN_LOG_LEVEL="3", TFSPECINV_XLA_CACHE=cache,
             TF_USE_LEGACY_KERAS="1")
  out = []
  for _ in range(2):
    done = subprocess.run([sys.executable, "-c", _FIRST_CALL, mel_path], env=env, cwd=root,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
      rb.note(f"first-call breakdown ({tag}) exited {done.returncode}: {done.stderr[-300:]}")
      return []
    out.append(json.loads(done.stdout.strip().splitlines()[-1]))
  return out


def _startup(root, work, tag, mel_path, repeats=3):
  """Whole-process seconds of the CLI on a 1 s mel: `(default runs, cold cache, warm runs)`.

  Default: no compilation cache (TFSPECINV_XLA_CACHE empty). Then with a
  fresh cache directory: the first run fills it, the rest find it.
  """
  command = lambda index: [sys.executable, "main.py", mel_path,
                           os.path.join(work, f"cli-{tag}-{index}.wav"), "--n_mels=80",
                           "--n_fft=1024", "--hop_length=256", "--fmax=8000"]
  base = dict(os.environ, PYTHONPATH=root, TF_CPP_MIN_LOG_LEVEL="3")
  default = [_timed_process(command(f"d{index}"), dict(base, TFSPECINV_XLA_CACHE=""), root)
             for index in range(repeats)]
  env = dict(base, TFSPECINV_XLA_CACHE=os.path.join(work, f"cli-xla-{tag}"))
  runs = [_timed_process(command(index), env, root) for index in range(repeats + 1)]
  return default, runs[0], runs[1:]


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  rb.add_corpus_arguments(parser)
  parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with")
  args = parser.parse_args(argv)
  clips = [c for c in rb.load_clips(parser, args) if not c.synthetic]
  import librosa  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  import tfspecinv  # pylint: disable=import-outside-toplevel
  header = ["# L-BFGS at its floor: the default mel inversion, now and at a baseline", "",
            *rb.machine_lines(tf, tfspecinv, librosa),
            f"- baseline: commit {args.baseline} (a git worktree, its own process)",
            f"- {len(clips)} real clips of {args.corpus}" +
            (f", cut to {args.max_seconds} s" if args.max_seconds else "") +
            f"; {rb.SR} Hz, n_fft {rb.N_FFT}, hop {rb.HOP}, {rb.N_MELS} Slaney mels, fmax "
            f"{rb.FMAX:g}, power 2; mels made by librosa"]
  print("\n".join(header), flush=True)
  speed = rb.Clip(os.path.join(args.corpus, SPEED_CLIP + ".wav"))
  with tempfile.TemporaryDirectory() as work:
    for clip in clips:
      np.save(os.path.join(work, f"{clip.name}.mel.npy"), rb.mel_of(clip.y))
    np.save(os.path.join(work, "speed.mel.npy"), rb.mel_of(speed.y))
    np.save(os.path.join(work, "speed.mag.npy"), rb.mag_of(speed.y))
    one_second = rb.mel_of(speed.y[:rb.SR])
    mel_path = os.path.join(work, "mel_1s.npy")
    np.save(mel_path, one_second)
    baseline_root = _worktree(args.baseline, work)
    try:
      engines = {}
      for tag, root in (("baseline", baseline_root), ("now", _REPO)):
        print(f"[{tag}] corpus and costs ...", flush=True)
        engines[tag] = _run_engine(root, tag, work, clips, speed)
      imports = {}
      plain = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
      legacy = dict(plain, TF_USE_LEGACY_KERAS="1")  # As main.py imports it.
      for label, env, code in (
          ("python -c 'import tensorflow'", plain, "import tensorflow"),
          ("the same with TF_USE_LEGACY_KERAS=1, as main.py sets it", legacy,
           "import tensorflow"),
          ("python -c 'import tensorflow_probability', TF_USE_LEGACY_KERAS=1", legacy,
           "import tensorflow_probability as p; p.optimizer.lbfgs_minimize")):
        imports[label] = [_timed_process([sys.executable, "-c", code], env, _REPO)
                          for _ in range(3)]
      startup = {tag: _startup(root, work, tag, mel_path)
                 for tag, root in (("baseline", baseline_root), ("now", _REPO))}
      first_calls = {tag: _first_call(root, work, tag, mel_path)
                     for tag, root in (("baseline", baseline_root), ("now", _REPO))}
      scores = {tag: {c.name: rb.score(c, np.load(os.path.join(work, f"{c.name}.{tag}.npy")),
                                       engines[tag]["clips"][c.name]["s"], "mel",
                                       rb.mel_of(c.y)) for c in clips}
                for tag in engines}
    finally:
      subprocess.run(["git", "-C", _REPO, "worktree", "remove", "--force", baseline_root],
                     check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  tables = _tables(clips, engines, scores, imports, startup, speed)
  tables.append(_first_call_table(first_calls))
  rb.emit(tables)
  path, _ = rb.write_markdown(args.results_dir, "lbfgs", header, tables)
  print(f"\n(markdown written to {path})", flush=True)
  return 0


def _tables(clips, engines, scores, imports, startup, speed):
  tags = ("baseline", "now")
  costs = rb.Table(f"Costs on {speed.name} ({speed.duration:.2f} s), medians of 3 rounds",
                   ["quantity"] + list(tags), ["{}", "{:.3f}", "{:.3f}"])
  get = lambda key, scale=1.0: [engines[t]["speed"][key] * scale for t in tags]
  costs.add(["XLA Griffin-Lim iteration, ms"] + get("gl_it", 1e3))
  costs.add(["L-BFGS iteration (default loss), ms"] + get("lbfgs_it", 1e3))
  costs.add(["L-BFGS iteration / XLA Griffin-Lim iteration"] + get("ratio"), kind="median")
  costs.add(["objective evaluations per L-BFGS iteration"] + get("evals_per_it"))
  costs.notes.append("GL iteration = (t(110 it) - t(10 it)) / 100; L-BFGS iteration = "
                     "stage_seconds['lbfgs'] / iterations of reconstruct(gl_iters=32, "
                     "lbfgs_iters=200) after an untimed call; the ratio is the median of the "
                     "per-round ratios.")
  pairs = engines["baseline"].get("pairs", {}), engines["now"].get("pairs", {})
  memory = rb.Table("L-BFGS memory (correction pairs) on the same clip, 200 iterations",
                    ["pairs", "ms per iteration, baseline", "SC dB, baseline",
                     "ms per iteration, now", "SC dB, now"],
                    ["{}", "{:.2f}", "{:.2f}", "{:.2f}", "{:.2f}"])
  for count in sorted({int(k) for p in pairs for k in p}):
    cells = []
    for part in pairs:
      ms, sc = part.get(str(count), part.get(count, (np.nan, np.nan)))
      cells += [ms * 1e3, sc]
    memory.add([str(count)] + cells)
  memory.notes.append("The default is 5 (tfspecinv.optimize._NUM_CORRECTION_PAIRS); TFP's "
                      "bookkeeping grows with the pairs, the fit after 200 iterations barely.")
  corpus = rb.Table("Default mel inversion on the corpus (medians over the real clips)",
                    ["engine", "wall / clip duration", "mel SC dB", "LSD dB", "PESQ-WB",
                     "evals / iteration", "L-BFGS iterations"],
                    ["{}", "{:.3f}", "{:.2f}", "{:.3f}", "{:.2f}", "{:.3f}", "{:.0f}"])
  for tag in tags:
    rows = [scores[tag][c.name] for c in clips]
    work = [engines[tag]["clips"][c.name] for c in clips]
    corpus.add([tag, np.median([r["rtf"] for r in rows]), np.median([r["sc"] for r in rows]),
                np.median([r["lsd"] for r in rows]), np.nanmedian([r["pesq"] for r in rows]),
                np.median([w["evals"] / max(w["lb_it"], 1) for w in work]),
                np.median([w["lb_it"] for w in work])], kind="median")
  corpus.notes.append(f"Engines: {engines['baseline']['engine']} and "
                      f"{engines['now']['engine']}. Each engine in its own process; warm: one untimed call on the same "
                      "clip before the timed one. Per clip: " + "; ".join(
                          f"{c.name} " + "/".join(
                              f"{scores[t][c.name]['rtf']:.2f}x {scores[t][c.name]['sc']:.1f}"
                              for t in tags) for c in clips))
  start = rb.Table("Start-up: `python main.py MEL.npy OUT.wav` on a 1 s mel, whole process, s",
                   ["process", "runs", "median"], ["{}", "{}", "{:.2f}"])
  for label, runs in imports.items():
    start.add([label, " ".join(f"{r:.2f}" for r in runs),
               float(np.median(runs))], kind="median")
  for tag in tags:
    default, cold, warm = startup[tag]
    start.add([f"main.py, {tag}, default (no compilation cache)", " ".join(
        f"{r:.2f}" for r in default), float(np.median(default))], kind="median")
    start.add([f"main.py, {tag}, opt-in cache, empty", f"{cold:.2f}", cold])
    start.add([f"main.py, {tag}, opt-in cache, filled by the first run", " ".join(
        f"{r:.2f}" for r in warm), float(np.median(warm))], kind="median")
  start.notes.append("The opt-in compilation cache is a fresh directory per engine "
                     "(TFSPECINV_XLA_CACHE=DIR); the baseline has none, so its runs are alike.")
  return [costs, memory, corpus, start]


def _first_call_table(first_calls):
  table = rb.Table("Start-up apart: a fresh process's first `reconstruct` of a 1 s mel, s",
                   ["engine, compilation cache", "import TF + TFP", "prepare (NNLS)",
                    "Griffin-Lim (32 it)", "first L-BFGS chunk", "its iterations",
                    "rest of L-BFGS", "L-BFGS iterations"],
                   ["{}", "{:.2f}", "{:.2f}", "{:.2f}", "{:.2f}", "{:.0f}", "{:.2f}", "{:.0f}"])
  for tag, runs in first_calls.items():
    for label, run in zip(("empty", "filled by the first run"), runs):
      table.add([f"{tag}, {label}", run["import"], run["prepare"], run["griffin_lim"],
                 run["lbfgs_first"], run["lbfgs_first_iterations"], run["lbfgs_rest"],
                 run["lbfgs_iterations"]])
  table.notes.append("The first L-BFGS chunk holds the tracing of TFP's loop and, with XLA, its "
                     "compilation (or loading from the cache); TF_USE_LEGACY_KERAS=1 as main.py.")
  return table


if __name__ == "__main__":
  sys.exit(main())

"""Before/after parity: the default `reconstruct` of two code versions, in one run.

`--before=COMMIT` (default: the merge-base of HEAD and `main`) is checked out
into a temporary git worktree; `--after` is the working tree (default: this
repository). Each side runs in its own worker process (parity_worker.py) with
PYTHONPATH at its tree, so each imports its own tfspecinv, and stays warm for
the whole run. Each clip goes to both sides, the order alternating from clip to
clip, for four representations: mel (librosa, 80 Slaney mels to 8 kHz, n_fft
1024, hop 256, power 2), MFCC (librosa, 40 of 128 mels), STFT magnitude and a
picture (the dB STFT magnitude over (-80, 0) dB drawn by librosa `specshow`
in grey, one pixel per cell, as tests/test_image.py makes them; read back
and inverted as main.py reads plain pictures). The calls are the defaults:
`reconstruct(values, config, length=n)` (method 'auto', seed 0).

The runner scores the returned waveforms in float64 with librosa. The verdict
per representation is "equal within noise" when the medians differ by at most
`--sc_tolerance` dB SC, `--lsd_tolerance` dB LSD, `--pesq_tolerance` PESQ-WB
and, for seconds, the larger of `--seconds_tolerance` (relative) and the
run-to-run spread measured here (each side runs the first clip a second time).
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from bench import runner

NAME = "parity"
TITLE = "Before/after parity: default reconstruct of two code versions on the corpus"
DEFAULT_CLIPS = ",".join([
    "speech_female_ljspeech_LJ001-0004", "speech_female_smstools_speech-female",
    "speech_male_arctic_awb_a0007", "speech_male_vctk_p286_011",
    "music_piano_smstools_piano", "music_band_brahms_hungarian5_strings",
    "environmental_rain_smstools", "environmental_doing_the_dishes"])
DEFAULT_MAX_SECONDS = 3.0
SIDES = ("before", "after")
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "parity_worker.py")
PREFIX = "@@parity "

_state = {}  # The run's workers, trees and temporary folder (set by setup).


def add_arguments(parser):
  parser.add_argument("--before", default=None,
                      help="commit of the 'before' side (default: git merge-base HEAD main)")
  parser.add_argument("--after", default=runner.REPO,
                      help="source tree of the 'after' side (default: this working tree)")
  parser.add_argument("--representations", default=",".join(runner.REPRESENTATIONS),
                      help="comma-separated subset of " + ",".join(runner.REPRESENTATIONS))
  parser.add_argument("--sc_tolerance", type=float, default=0.1)
  parser.add_argument("--lsd_tolerance", type=float, default=0.1)
  parser.add_argument("--pesq_tolerance", type=float, default=0.02)
  parser.add_argument("--seconds_tolerance", type=float, default=0.15)


def grid(args):
  representations = [r.strip() for r in args.representations.split(",") if r.strip()]
  unknown = sorted(set(representations) - set(runner.REPRESENTATIONS))
  if unknown:
    raise SystemExit(f"--representations: unknown {unknown}; use {runner.REPRESENTATIONS}")
  return [{"label": f"{r} {side}", "representation": r, "side": side}
          for r in representations for side in SIDES]


def _git(*args, cwd=runner.REPO):
  process = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
  if process.returncode:
    raise SystemExit(f"git {' '.join(args)} failed: {process.stderr.strip()}")
  return process.stdout.strip()


class _Worker:
  """One side's worker process; `call(job)` sends a request and waits for its answer."""

  def __init__(self, side, tree, folder):
    env = dict(os.environ, PYTHONPATH=tree, TF_CPP_MIN_LOG_LEVEL="2", PYTHONNOUSERSITE="1")
    self.side, self.tree = side, tree
    self.log = open(os.path.join(folder, f"{side}.log"), "w")
    self.process = subprocess.Popen([sys.executable, "-u", WORKER], cwd=tree, env=env,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=self.log, text=True)
    self.info = self._answer()

  def _answer(self):
    for line in self.process.stdout:
      if line.startswith(PREFIX):
        return json.loads(line[len(PREFIX):])
    self.log.flush()
    with open(self.log.name) as handle:
      tail = handle.read()[-2000:]
    raise RuntimeError(f"the {self.side} worker ({self.tree}) stopped:\n{tail}")

  def call(self, job):
    self.process.stdin.write(json.dumps(job) + "\n")
    self.process.stdin.flush()
    return self._answer()

  def close(self):
    if self.process.poll() is None:
      try:
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        self.process.wait(timeout=30)
      except (OSError, subprocess.TimeoutExpired):
        self.process.kill()
    self.log.close()


def _save_picture(db, path):
  """`specshow` of dB values over (-80, 0) in grey, no axes, one pixel per cell."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  import librosa.display  # pylint: disable=import-outside-toplevel
  figure = plt.figure(figsize=(db.shape[1] / 100.0, db.shape[0] / 100.0), dpi=100)
  axis = figure.add_axes([0, 0, 1, 1])
  axis.set_axis_off()
  librosa.display.specshow(db, sr=runner.SR, hop_length=runner.HOP, cmap="gray", ax=axis,
                           vmin=-80.0, vmax=0.0)
  figure.savefig(path, dpi=100)
  plt.close(figure)


def setup(context):
  args = context.args
  folder = tempfile.mkdtemp(prefix="bench-parity-")
  before = args.before or _git("merge-base", "HEAD", "main")
  before_full = _git("rev-parse", "--verify", before + "^{commit}")
  tree = os.path.join(folder, "before")
  _git("worktree", "add", "--detach", tree, before_full)
  _state.update(folder=folder, before_tree=tree, inputs={}, workers={})
  after = os.path.abspath(args.after)
  context.notes += [
      f"before: commit {before_full[:10]} ({_git('log', '-1', '--format=%s', before_full)[:80]}), "
      "checked out in a temporary git worktree",
      f"after: {after}, commit {runner.commit(after)}",
      "calls: `reconstruct(values, config, length=n)` with the defaults (method 'auto', "
      "seed 0); seconds: the call in the side's warm worker process (reading the picture "
      "included); each clip goes to both sides, the order alternating from clip to clip",
      "inputs: librosa in float64, given as float32: mel = melspectrogram(n_fft 1024, hop 256, "
      "80 Slaney mels, fmax 8000, power 2); MFCC = mfcc(n_mfcc 40, 128 mels); STFT = |stft|; "
      "picture = amplitude_to_db(|stft|, ref=max, top_db 80) drawn by specshow (grey, "
      "-80..0 dB, one pixel per cell) into a PNG, read by the engine as main.py reads it",
  ]
  for side, root in (("before", tree), ("after", after)):
    worker = _Worker(side, root, folder)
    _state["workers"][side] = worker
    expected = os.path.realpath(os.path.join(root, "tfspecinv", "__init__.py"))
    if os.path.realpath(worker.info["tfspecinv"]) != expected:
      raise SystemExit(f"the {side} worker imported {worker.info['tfspecinv']}, not {expected}")


def _input(clip, representation):
  """The path of the engine's input for (clip, representation), made once."""
  key = (clip.name, len(clip.y), representation)
  if key not in _state["inputs"]:
    values = runner.representation_of(clip.y, representation)
    stem = os.path.join(_state["folder"], f"{clip.name}-{len(clip.y)}-{representation}")
    if representation == "picture":
      path = stem + ".png"
      _save_picture(values, path)
    else:
      path = stem + ".npy"
      np.save(path, values.astype(np.float32))
    _state["inputs"][key] = path
  return _state["inputs"][key]


def run(clip, setting):
  output = os.path.join(_state["folder"], f"out-{setting['side']}.npy")
  answer = _state["workers"][setting["side"]].call({
      "representation": setting["representation"], "input": _input(clip, setting["representation"]),
      "length": len(clip.y), "output": output})
  waveform = np.load(output).astype(np.float64)
  return {"waveform": waveform, **answer}


def after_grid(context, rows):
  """Run-to-run spread: each side runs the first clip once more, per representation."""
  clip = context.clips[0]
  first = {setting["label"]: row["seconds"] for c, setting, row in rows if c is clip}
  spread = {}
  for setting in grid(context.args):
    again = run(clip, setting)["seconds"]
    change = abs(again - first[setting["label"]]) / max(first[setting["label"]], 1e-9)
    spread[setting["representation"]] = max(spread.get(setting["representation"], 0.0), change)
  _state["spread"] = spread


def teardown(context):
  for worker in _state.get("workers", {}).values():
    worker.close()
  if _state.get("before_tree"):
    subprocess.run(["git", "worktree", "remove", "--force", _state["before_tree"]],
                   cwd=runner.REPO, capture_output=True, check=False)
  if _state.get("folder"):
    shutil.rmtree(_state["folder"], ignore_errors=True)
  subprocess.run(["git", "worktree", "prune"], cwd=runner.REPO, capture_output=True, check=False)


def _median(values):
  values = [v for v in values if np.isfinite(v)]
  return statistics.median(values) if values else float("nan")


def verdicts(rows, args, spread):
  """Per representation: medians per side, differences and the verdict.

  Returns:
    [(representation, {metric: (before, after, difference)}, seconds tolerance, verdict)].
  """
  out = []
  representations = []
  for _, setting, _ in rows:
    if setting["representation"] not in representations:
      representations.append(setting["representation"])
  tolerance = {"sc": args.sc_tolerance, "lsd": args.lsd_tolerance, "pesq": args.pesq_tolerance}
  for representation in representations:
    medians = {}
    for key in ("sc", "lsd", "pesq", "seconds"):
      side = {s: _median([r[key] for _, st, r in rows
                          if st["representation"] == representation and st["side"] == s])
              for s in SIDES}
      medians[key] = (side["before"], side["after"], side["after"] - side["before"])
    seconds_tolerance = max(args.seconds_tolerance, spread.get(representation, 0.0))
    failed = [key for key, limit in tolerance.items()
              if np.isfinite(medians[key][2]) and abs(medians[key][2]) > limit]
    before_s, _, difference_s = medians["seconds"]
    if abs(difference_s) > seconds_tolerance * before_s:
      failed.append("seconds")
    verdict = "equal within noise" if not failed else "DIFFERENT: " + ", ".join(failed)
    out.append((representation, medians, seconds_tolerance, verdict))
  return out


def tables(context, rows):
  args = context.args
  spread = _state.get("spread", {})
  summary = runner.Table(
      f"Medians over {len(context.clips)} clips, before against after",
      ["representation", "SC before", "SC after", "SC diff", "LSD before", "LSD after",
       "LSD diff", "PESQ before", "PESQ after", "PESQ diff", "s before", "s after",
       "s after/before", "verdict"],
      ["{}"] + ["{:.2f}", "{:.2f}", "{:+.3f}"] * 3 + ["{:.2f}", "{:.2f}", "{:.3f}", "{}"])
  for representation, medians, seconds_tolerance, verdict in verdicts(rows, args, spread):
    cells = [representation]
    for key in ("sc", "lsd", "pesq"):
      cells += list(medians[key])
    before_s, after_s, _ = medians["seconds"]
    cells += [before_s, after_s, runner.ratio(after_s, before_s), verdict]
    summary.add(cells)
  summary.notes += [
      f"noise allowed: SC within {args.sc_tolerance:g} dB, LSD within {args.lsd_tolerance:g} dB, "
      f"PESQ-WB within {args.pesq_tolerance:g}, seconds within the larger of "
      f"{args.seconds_tolerance:.0%} and the run-to-run spread measured here (the first clip "
      "run again on each side: " + ", ".join(f"{r} {s:.1%}" for r, s in spread.items()) + ")",
      "SC: of the given representation (MFCCs for MFCC, STFT magnitude for STFT and picture), "
      "dB, lower is better; LSD: of the STFT power for STFT and picture, of the mel power "
      "otherwise (128 mels for MFCC); PESQ-WB at 16 kHz; seconds per clip"]
  per_clip = runner.Table(
      "Per clip: SC (dB) and seconds, before / after",
      ["clip", "representation", "SC before", "SC after", "s before", "s after",
       "work before", "work after"],
      ["{}", "{}", "{:.2f}", "{:.2f}", "{:.2f}", "{:.2f}", "{}", "{}"])
  by_key = {(c.name, s["representation"], s["side"]): r for c, s, r in rows}
  for clip in context.clips:
    for setting in grid(args)[::2]:
      representation = setting["representation"]
      before, after = (by_key.get((clip.name, representation, s)) for s in SIDES)
      if before is None or after is None:
        continue
      work = lambda r: f"{r['stop']} {r['gl_it']}+{r['lb_it']}"
      per_clip.add([clip.label, representation, before["sc"], after["sc"], before["seconds"],
                    after["seconds"], work(before), work(after)])
  return [summary, per_clip]

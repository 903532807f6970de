"""The bench as one tool: bench/README.md, `python -m bench --list`, the runner's scoring.

The scoring references are NumPy written here from their definitions (librosa
0.11 `stft`: centred frames, zero padding of n_fft/2, periodic Hann window;
spectral convergence and log-spectral distance as bench/README.md defines
them), in float64, on synthetic signals; tolerances are stated per check.
"""

import argparse
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)

from bench import runner  # noqa: E402  pylint: disable=wrong-import-position
from bench.experiments import EXPERIMENTS, parity  # noqa: E402  pylint: disable=wrong-import-position

README = os.path.join(ROOT, "bench", "README.md")
# Results files that bench/README.md names but that this machine cannot write, and why.
NOT_COMMITTED = {"gpu.md": "GPU machine only"}


def _readme_table():
  """{experiment name: [results files]} from the table of bench/README.md."""
  rows = {}
  for line in open(README).read().splitlines():
    match = re.match(r"\| `([a-z0-9_]+)` \(`[^`]+`[^|]*\) \| ([^|]+) \|", line)
    if match:
      rows[match.group(1)] = re.findall(r"`results/([^`]+)`", match.group(2))
  return rows


def test_readme_table_lists_every_experiment_with_its_results_files():
  table = _readme_table()
  assert set(table) == set(EXPERIMENTS), (sorted(table), sorted(EXPERIMENTS))
  for name, files in table.items():
    assert files == list(EXPERIMENTS[name].results), (name, files)


def test_every_results_file_the_readme_names_exists():
  text = open(README).read()
  named = set(re.findall(r"results/([A-Za-z0-9_]+\.md)", text)) - {"NAME.md"}
  assert "parity.md" in named and "mel.md" in named
  missing = sorted(f for f in named - set(NOT_COMMITTED)
                   if not os.path.exists(os.path.join(ROOT, "bench", "results", f)))
  assert not missing, f"bench/README.md names results files that do not exist: {missing}"
  for name in NOT_COMMITTED:  # Said so where it is named.
    assert f"`results/{name}` (on a GPU machine only; no run committed yet)" in text


def test_list_names_every_experiment_and_the_scripts_exist():
  process = subprocess.run([sys.executable, "-m", "bench", "--list"], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
  assert process.returncode == 0, process.stderr
  listed = [line.split()[0] for line in process.stdout.splitlines() if line.strip()]
  assert listed == list(EXPERIMENTS)
  for experiment in EXPERIMENTS.values():
    if experiment.kind == "script":
      assert os.path.exists(os.path.join(ROOT, "bench", experiment.target[0])), experiment
  unknown = subprocess.run([sys.executable, "-m", "bench", "no_such_thing"], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
  assert unknown.returncode == 2 and "--list" in unknown.stderr


def test_flags_are_spelled_with_underscores():
  """No bench script defines a hyphenated flag, except hidden aliases of older spellings."""
  offenders = []
  for name in sorted(os.listdir(os.path.join(ROOT, "bench"))):
    if not name.endswith(".py"):
      continue
    text = open(os.path.join(ROOT, "bench", name)).read()
    for match in re.finditer(r'add_argument\(\s*"(--[a-z0-9]+-[a-z0-9-]+)"([^)]*)\)', text):
      if "argparse.SUPPRESS" not in match.group(2):
        offenders.append(f"{name}: {match.group(1)}")
  assert not offenders, offenders


def test_corpus_arguments_take_the_older_spelling_too():
  parser = argparse.ArgumentParser()
  runner.add_corpus_arguments(parser, max_seconds=3.0)
  assert parser.parse_args([]).max_seconds == 3.0
  assert parser.parse_args(["--max_seconds", "2"]).max_seconds == 2.0
  assert parser.parse_args(["--max-seconds", "1.5"]).max_seconds == 1.5
  assert "--max-seconds" not in parser.format_help()


# ------------------------------------------------------------------- scoring
def _numpy_stft_magnitude(y, n_fft=1024, hop=256):
  """|STFT| `[1 + n_fft/2, frames]` as librosa 0.11 computes it (center=True, zero padding)."""
  window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann
  padded = np.pad(np.asarray(y, np.float64), n_fft // 2)
  frames = 1 + (len(padded) - n_fft) // hop
  stack = np.stack([padded[i * hop:i * hop + n_fft] * window for i in range(frames)], axis=1)
  return np.abs(np.fft.rfft(stack, axis=0))


def _numpy_sc_db(estimate, target):
  return 20 * np.log10(np.sqrt(np.sum((estimate - target) ** 2)) / np.sqrt(np.sum(target ** 2)))


def _numpy_lsd_db(p_estimate, p_target, floor=1e-10):
  eps = floor * p_target.max()
  per_frame = np.sqrt(np.mean((10 * np.log10((p_estimate + eps) / (p_target + eps))) ** 2,
                              axis=0))
  return np.mean(per_frame)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
  """A 1.5 s synthetic clip (a chirp and a little noise) at 22050 Hz in a corpus folder."""
  folder = tmp_path_factory.mktemp("corpus")
  t = np.arange(int(1.5 * runner.SR)) / runner.SR
  rng = np.random.default_rng(0)
  y = 0.4 * np.sin(2 * np.pi * (200 * t + 600 * t ** 2)) + 0.01 * rng.standard_normal(len(t))
  path = folder / "speech_synthetic_chirp.wav"
  sf.write(str(path), y, runner.SR, subtype="FLOAT")
  (folder / "MANIFEST.tsv").write_text("file\tkind\nspeech_synthetic_chirp.wav\tspeech_test\n")
  return runner.Clip(str(path))


def test_corpus_follows_the_manifest(clip, tmp_path):
  folder = os.path.dirname(clip.path)
  assert runner.corpus_paths(folder) == [clip.path] and clip.kind == "speech_test"
  (tmp_path / "MANIFEST.tsv").write_text("file\tkind\nabsent.wav\tspeech\n")
  sf.write(str(tmp_path / "other.wav"), np.zeros(100), runner.SR)
  with pytest.raises(ValueError, match="absent.wav"):
    runner.corpus_paths(str(tmp_path))


def test_stft_magnitude_matches_numpy(clip):
  ours, reference = runner.mag_of(clip.y), _numpy_stft_magnitude(clip.y)
  assert ours.shape == reference.shape
  # float64 FFTs of the same frames: agreement to rounding (1e-9 of the peak).
  assert np.max(np.abs(ours - reference)) < 1e-9 * reference.max()


@pytest.mark.parametrize("gain", [0.5, 1.3])
def test_stft_scores_of_a_scaled_output_match_numpy(clip, gain):
  target = _numpy_stft_magnitude(clip.y)
  scores = runner.score_waveform(clip, gain * clip.y.astype(np.float64), "stft")
  estimate = _numpy_stft_magnitude(gain * clip.y.astype(np.float64))
  assert abs(scores["sc"] - _numpy_sc_db(estimate, target)) < 1e-6
  assert abs(scores["sc"] - 20 * np.log10(abs(1 - gain))) < 1e-6  # |g - 1| exactly
  assert abs(scores["lsd"] - _numpy_lsd_db(estimate ** 2, target ** 2)) < 1e-6
  # The floor (1e-10 of the peak) barely bends the log ratio: near |20 log10 g| dB.
  assert abs(scores["lsd"] - abs(20 * np.log10(gain))) < 0.05


def test_noisy_output_scores_match_numpy_and_perceptual_ranges(clip):
  rng = np.random.default_rng(1)
  output = clip.y.astype(np.float64) + 0.02 * rng.standard_normal(len(clip.y))
  scores = runner.score_waveform(clip, output, "stft")
  target, estimate = _numpy_stft_magnitude(clip.y), _numpy_stft_magnitude(output)
  assert abs(scores["sc"] - _numpy_sc_db(estimate, target)) < 1e-6
  assert abs(scores["lsd"] - _numpy_lsd_db(estimate ** 2, target ** 2)) < 1e-6
  clean = runner.score_waveform(clip, clip.y, "stft")
  if runner.pesq_fn is not None:  # PESQ-WB: 4.64 for a perfect copy, lower with noise.
    assert clean["pesq"] > 4.5 and scores["pesq"] < clean["pesq"]
  if runner.stoi_fn is not None:
    assert clean["stoi"] > 0.99


def test_picture_scores_fit_the_level_first(clip):
  """A picture holds no level: any gain on the output scores as the exact output."""
  exact = runner.score_waveform(clip, clip.y, "picture")
  scaled = runner.score_waveform(clip, 0.1 * clip.y.astype(np.float64), "picture")
  assert exact["sc"] < -100 and scaled["sc"] < -100 and scaled["lsd"] < 1e-6


def test_parity_verdict_follows_the_stated_noise():
  args = argparse.Namespace(sc_tolerance=0.1, lsd_tolerance=0.1, pesq_tolerance=0.02,
                            seconds_tolerance=0.15)

  def rows(after_sc, after_seconds):
    out = []
    for side, sc, seconds in (("before", -40.0, 2.0), ("after", after_sc, after_seconds)):
      setting = {"representation": "mel", "side": side}
      out.append((None, setting, {"sc": sc, "lsd": 1.0, "pesq": 4.0, "seconds": seconds}))
    return out

  assert parity.verdicts(rows(-40.05, 2.2), args, {})[0][3] == "equal within noise"
  assert parity.verdicts(rows(-39.5, 2.0), args, {})[0][3] == "DIFFERENT: sc"
  assert parity.verdicts(rows(-40.0, 2.5), args, {})[0][3] == "DIFFERENT: seconds"
  # A measured run-to-run spread wider than 15% widens the seconds allowed.
  assert parity.verdicts(rows(-40.0, 2.5), args, {"mel": 0.3})[0][3] == "equal within noise"


def test_run_grid_warms_up_alternates_scores_and_writes_the_header(clip, tmp_path):
  """A tiny experiment (no engine): each setting scales the clip; the runner does the rest."""
  calls = []

  class Experiment:  # pylint: disable=too-few-public-methods
    NAME = "tiny"
    TITLE = "Tiny experiment"
    GRID = [{"label": "half", "representation": "stft", "gain": 0.5},
            {"label": "same", "representation": "stft", "gain": 1.0}]

    @staticmethod
    def run(clip_, setting):
      calls.append((clip_.name, setting["label"]))
      return {"waveform": setting["gain"] * clip_.y.astype(np.float64), "seconds": 0.25}

    @staticmethod
    def tables(context, rows):
      table = runner.Table("rows", ["clip", "setting", "SC"], ["{}", "{}", "{:.2f}"])
      for clip_, setting, row in rows:
        table.add([clip_.name, setting["label"], row["sc"]])
      return [table]

  corpus = os.path.dirname(clip.path)
  path, rows = runner.run_grid(Experiment, ["--corpus", corpus, "--results_dir", str(tmp_path),
                                            "--max_seconds", "1"])
  name = os.path.basename(clip.path)[:-4]
  # Warm-up: each setting once on the first clip; then the grid (one clip: in order).
  assert calls == [(name, "half"), (name, "same"), (name, "half"), (name, "same")]
  by_label = {setting["label"]: row for _, setting, row in rows}
  assert abs(by_label["half"]["sc"] - 20 * np.log10(0.5)) < 1e-6
  assert by_label["same"]["sc"] < -100 and by_label["half"]["seconds"] == 0.25
  text = open(path).read()
  assert path == str(tmp_path / "tiny.md") and text.startswith("# Tiny experiment\n")
  for piece in ("- command: `python -m bench tiny --corpus", "- commit ", "CPUs (",
                "load average at start", "tensorflow ", "librosa ", "numpy ",
                "cut to 1 s", "warm-up (first call of each setting"):
    assert piece in text, piece
  assert "| " + name + " | half | -6.02 |" in text

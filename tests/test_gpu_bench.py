"""bench/gpu_bench.py smoke runs on the CPU: tiny clips, GPUs hidden, results in a temporary file.

The GPU part itself runs only on a GPU machine (`PYTHONPATH=. python bench/gpu_bench.py`);
here the CPU part runs with --allow_cpu_only, and without it the script must refuse.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "bench", "gpu_bench.py")
DEFAULT_RESULTS = os.path.join(ROOT, "bench", "results", "gpu.md")
# The repository's own recordings, so the test needs no corpus beside the checkout.
TINY = ("--seconds", "1", "--batches", "1,2", "--cpu_batches", "1",
        "--corpus", os.path.join(ROOT, "samples"))


def _run(*args, timeout=240):
  # CUDA_VISIBLE_DEVICES hides any GPU, so these are CPU-only runs on every machine;
  # GIT_OPTIONAL_LOCKS=0 keeps the header's `git status` from touching the index.
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
             GIT_OPTIONAL_LOCKS="0",
             PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
  return subprocess.run([sys.executable, SCRIPT, *args], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=timeout)


def _stamp(path):
  return (os.stat(path).st_mtime_ns, os.path.getsize(path)) if os.path.exists(path) else None


def _row(text, title_word, batch):
  """The markdown row `| batch N | ...` of the table whose title contains `title_word`."""
  section = text.split(f"### {title_word}", 1)[1].split("###", 1)[0]
  rows = [line for line in section.splitlines() if line.startswith(f"| batch {batch} |")]
  assert len(rows) == 1, section
  return [cell.strip() for cell in rows[0].strip("|").split("|")]


def test_cpu_only_smoke_run_writes_tables_with_the_ratio_column(tmp_path):
  output = tmp_path / "gpu.md"
  before = _stamp(DEFAULT_RESULTS)
  process = _run("--allow_cpu_only", *TINY, "--output", str(output))
  assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
  assert "NO GPU" in process.stdout
  assert _stamp(DEFAULT_RESULTS) == before
  text = output.read_text()
  assert "- command: `python" in text and "GPU: none visible" in text
  for title in ("griffin_lim", "reconstruct"):
    section = text.split(f"### {title}", 1)[1].split("###", 1)[0]
    header = next(line for line in section.splitlines() if line.startswith("| batch |"))
    assert "| GPU/CPU |" in header and "| CPU x RT |" in header and "| target |" in header
  gl1, gl2 = _row(text, "griffin_lim", 1), _row(text, "griffin_lim", 2)
  auto1 = _row(text, "reconstruct", 1)
  # Columns: batch, audio s, GPU warm-up, GPU s, GPU x RT, GPU peak, CPU warm-up, CPU s,
  # CPU x RT, GPU/CPU, ...: the CPU ran every row asked of it; the GPU ran none.
  for cells in (gl1, gl2, auto1):
    assert re.fullmatch(r"\d+\.\d+", cells[8]), cells
    assert float(cells[8]) > 0 and float(cells[6]) > 0
    assert cells[4] == "-" and cells[9] == "-"
  # --cpu_batches 1 and no GPU: no batch 2 of the default inversion was run, nor listed.
  assert "| batch 2 |" not in text.split("### reconstruct", 1)[1].split("###", 1)[0]
  assert "### Targets" in text and ">= 200x" in text and ">= 20x" in text
  assert "failed" not in text


def test_without_a_gpu_it_refuses_unless_allowed_and_keeps_the_default_results(tmp_path):
  before = _stamp(DEFAULT_RESULTS)
  process = _run(*TINY, timeout=120)
  assert process.returncode == 2, process.stdout[-2000:] + process.stderr[-2000:]
  assert "NO GPU" in process.stdout and "--allow_cpu_only" in process.stderr
  # Allowed but no --output: the CPU part runs; bench/results/gpu.md is not written.
  process = _run("--allow_cpu_only", "--seconds", "0.5", "--batches", "1", "--cpu_batches",
                 "none", "--gl_iters", "2", *TINY[-2:])
  assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
  assert "Not written" in process.stdout and "griffin_lim on CPU, batch 1" in process.stdout
  assert _stamp(DEFAULT_RESULTS) == before
  assert not list(tmp_path.iterdir())

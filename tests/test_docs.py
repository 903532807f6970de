"""The documentation runs: README code blocks, examples/ scripts, help() of every public name.

* Every ```python block of README.md runs, in order, in one namespace (a
  block may use what an earlier one defined), from the repository root. A
  block preceded by `<!-- no-test -->` is skipped.
* Every examples/*.py runs as a script in a fresh process with a temporary
  output folder and TFSPECINV_EXAMPLE_FAST=1 (small inputs, few iterations).
* `pydoc.render_doc` of each name in `tfspecinv.__all__` shows its arguments
  and what it returns ('Args' and 'Returns' for functions; 'Args', 'Fields' or
  'Attributes' for classes).
* The README stays a manual: at most 13,000 bytes, its pictures exist, and
  its links to local files resolve.
"""

import glob
import inspect
import os
import pydoc
import re
import subprocess
import sys

import pytest

import tfspecinv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "*.py")))


def _readme():
  with open(README, encoding="utf-8") as f:
    return f.read()


def python_blocks(text):
  """`(line number, code)` of each ```python block not marked `<!-- no-test -->`."""
  blocks = []
  pattern = re.compile(r"((?:<!--[^\n]*-->\s*\n)?)```python\n(.*?)\n```", re.S)
  for match in pattern.finditer(text):
    if "no-test" in match.group(1):
      continue
    line = text.count("\n", 0, match.start(2)) + 1
    blocks.append((line, match.group(2)))
  return blocks


def test_readme_python_blocks_run(monkeypatch, capsys):
  blocks = python_blocks(_readme())
  assert len(blocks) >= 2
  monkeypatch.chdir(ROOT)
  namespace = {"__name__": "__readme__"}
  for line, code in blocks:
    try:
      exec(compile(code, f"README.md:{line}", "exec"), namespace)  # pylint: disable=exec-used
    except Exception as error:  # pragma: no cover - the failure message is the point
      raise AssertionError(f"README.md code block at line {line} failed: "
                           f"{type(error).__name__}: {error}") from error
  assert capsys.readouterr().out  # The blocks print what they show.


def test_readme_quick_start_commands_are_the_ci_commands():
  with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as f:
    ci = [line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")]
  text = _readme()
  for command in ("python -m pytest -q tests",
                  'pip install -e ".[test]" && python main.py '
                  "--input=samples/speech_female_ljspeech.wav --output=out.wav --overwrite"):
    assert command in ci
    assert command in text


def test_readme_is_a_short_manual():
  text = _readme()
  assert len(text.encode("utf-8")) <= 13000
  for picture in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
    assert os.path.isfile(os.path.join(ROOT, picture)), picture
    assert os.path.getsize(os.path.join(ROOT, picture)) < 200_000, picture
  prose = re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", text, flags=re.S))
  for link in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", prose):
    if link.startswith("bench/results/"):
      continue  # Written by the bench scripts; committed with their runs.
    assert os.path.exists(os.path.join(ROOT, link)), link
  words = re.findall(r"[a-z]+", prose.lower())
  assert not {"session", "sessions", "morning", "yesterday", "today"} & set(words)
  assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text)  # No dates of runs.


@pytest.mark.parametrize("script", EXAMPLES, ids=[os.path.basename(p) for p in EXAMPLES])
def test_example_runs(script, tmp_path):
  env = dict(os.environ, TFSPECINV_EXAMPLE_FAST="1", TF_CPP_MIN_LOG_LEVEL="3",
             PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
  process = subprocess.run([sys.executable, script, str(tmp_path / "out")], cwd=str(tmp_path),
                           env=env, capture_output=True, text=True, timeout=240)
  assert process.returncode == 0, process.stderr[-3000:]
  written = os.listdir(tmp_path / "out")
  assert written, "the example wrote nothing"
  assert process.stdout.strip()


def test_examples_cover_the_main_journeys():
  names = {os.path.basename(p) for p in EXAMPLES}
  assert {"invert_tts_mel.py", "keras_savedmodel.py", "tf_data_pipeline.py"} <= names


@pytest.mark.parametrize("name", tfspecinv.__all__)
def test_help_documents_arguments_and_results(name):
  obj = getattr(tfspecinv, name)
  rendered = pydoc.render_doc(obj, renderer=pydoc.plaintext)
  doc = inspect.getdoc(obj) or ""
  assert len(doc) > 80, f"{name}: no real docstring"
  if inspect.isclass(obj):
    assert any(k in rendered for k in ("Args", "Fields:", "Attributes")), name
  else:
    assert "Args:" in rendered and "Returns:" in rendered, name


def test_readme_figures_come_from_results_files():
  """Every measured figure in the README (a decimal number) appears in a bench/results file."""
  results = sorted(glob.glob(os.path.join(ROOT, "bench", "results", "*.md")))
  linked = set(re.findall(r"\]\((bench/results/[^)]+\.md)\)", _readme()))
  missing = [p for p in linked if not os.path.exists(os.path.join(ROOT, p))]
  if missing:
    pytest.skip(f"results files not written yet: {', '.join(sorted(missing))}")
  corpus = "".join(open(p, encoding="utf-8").read() for p in results)
  prose = re.sub(r"```.*?```", "", _readme(), flags=re.S)
  numbers = set(re.findall(r"(?<![\w.])-?\d+\.\d+(?![\d+.])", prose))
  absent = sorted(n for n in numbers if n not in corpus)
  assert not absent, f"README figures not found in bench/results/*.md: {absent}"

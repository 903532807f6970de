"""Writes bench/results/nightly.md from a pytest JUnit XML file (run by `.ci/nightly`).

Records the command, commit, machine, the versions of the TensorFlow family that
were installed (nightly wheels), the pass/fail/error/skip counts and every
failing or erroring test by name with the first line of its message.

Usage (inside the nightly environment, from the repository root):
  python bench/nightly_report.py --junit JUNIT.xml --status RC --args "tests/..." \
      --output bench/results/nightly.md
"""

import argparse
import importlib.metadata
import os
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (puts the repository on sys.path)

DISTRIBUTIONS = ("tf-nightly", "tfp-nightly", "tf-keras-nightly", "tensorflow",
                 "tensorflow-probability", "tf-keras", "keras", "numpy", "librosa", "scipy")


def _version(name):
  try:
    return importlib.metadata.version(name)
  except importlib.metadata.PackageNotFoundError:
    return None


def parse_junit(path):
  """Counts and failures from a JUnit XML file.

  Args:
    path: the file pytest wrote with `--junitxml`.

  Returns:
    (counts, problems, seconds): counts is a dict with passed/failed/errors/skipped,
    problems a list of (kind, test id, first message line), seconds the suite's time.
  """
  root = ET.parse(path).getroot()
  suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
  counts = dict(passed=0, failed=0, errors=0, skipped=0)
  problems = []
  seconds = 0.0
  for suite in suites:
    seconds += float(suite.get("time", 0.0))
    for case in suite.iter("testcase"):
      name = test_id(case.get("classname", ""), case.get("name", ""))
      kinds = {child.tag for child in case}
      if "failure" in kinds or "error" in kinds:
        kind = "failed" if "failure" in kinds else "errors"
        element = case.find("failure") if kind == "failed" else case.find("error")
        message = (element.get("message") or element.text or "").strip().splitlines()
        counts[kind] += 1
        problems.append((kind, name, message[0][:200] if message else ""))
      elif "skipped" in kinds:
        counts["skipped"] += 1
      else:
        counts["passed"] += 1
  return counts, problems, seconds


def test_id(classname, name):
  """A JUnit test case as a pytest node id (`tests/test_x.py::test_y[param]`)."""
  parts = classname.split(".")
  for cut in range(len(parts), 0, -1):
    path = "/".join(parts[:cut]) + ".py"
    if os.path.exists(path):
      return "::".join([path] + parts[cut:] + [name])
  return f"{classname}::{name}"


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--junit", required=True)
  parser.add_argument("--list_failed", action="store_true",
                      help="print the failing tests' ids, one a line, and stop")
  parser.add_argument("--rerun_junit", default=None,
                      help="JUnit XML of the failing tests run again (absent: none ran)")
  # .ci/nightly's spellings, still accepted (not listed by --help).
  parser.add_argument("--list-failed", dest="list_failed", action="store_true",
                      help=argparse.SUPPRESS)
  parser.add_argument("--rerun-junit", dest="rerun_junit", default=argparse.SUPPRESS,
                      help=argparse.SUPPRESS)
  parser.add_argument("--status", type=int, default=None, help="pytest's exit status")
  parser.add_argument("--args", default="", help="the pytest arguments .ci/nightly ran")
  parser.add_argument("--note", action="append", default=[],
                      help="a line for the report (e.g. what a failure is), repeatable")
  parser.add_argument("--output", default=os.path.join("bench", "results", "nightly.md"))
  args = parser.parse_args()
  if args.list_failed:
    for _, name, _ in parse_junit(args.junit)[1]:
      print(name)
    return

  import librosa  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  import tfspecinv  # pylint: disable=import-outside-toplevel

  counts, problems, seconds = parse_junit(args.junit)
  lines = ["# The test suite on the nightly TensorFlow", "",
           f"- run: `bash .ci/nightly {args.args}` (pytest exit status {args.status})"]
  lines += benchlib.machine_lines(tf, tfspecinv, librosa)
  installed = [f"{n} {_version(n)}" for n in DISTRIBUTIONS if _version(n)]
  lines.append("- installed: " + ", ".join(installed))
  lines.append(f"- tensorflow_probability {__import__('tensorflow_probability').__version__}, "
               f"tf_keras {__import__('tf_keras').__version__}")
  lines += ["", "| passed | failed | errors | skipped | seconds |",
            "| ---: | ---: | ---: | ---: | ---: |",
            f"| {counts['passed']} | {counts['failed']} | {counts['errors']} | "
            f"{counts['skipped']} | {seconds:.0f} |", ""]
  if problems:
    again = {}
    if args.rerun_junit and os.path.exists(args.rerun_junit):
      rerun_counts, rerun_problems, _ = parse_junit(args.rerun_junit)
      failed_again = {n for _, n, _ in rerun_problems}
      again = {n: "failed" if n in failed_again else "passed" for _, n, _ in problems}
      lines += [f"Failing tests run again, alone: {rerun_counts['passed']} passed, "
                f"{rerun_counts['failed'] + rerun_counts['errors']} failed.", ""]
    lines += ["Failing tests:", "", "| kind | test | message | run again alone |",
              "| --- | --- | --- | --- |"]
    lines += [f"| {k} | `{n}` | {m.replace('|', '/')} | {again.get(n, 'not run')} |"
              for k, n, m in problems]
  else:
    lines.append("No test failed.")
  if args.note:
    lines += [""] + [f"Note: {note}" for note in args.note]
  os.makedirs(os.path.dirname(args.output) or ".", exist_ok=True)
  with open(args.output, "w") as handle:
    handle.write("\n".join(lines) + "\n")
  print("\n".join(lines))


if __name__ == "__main__":
  main()

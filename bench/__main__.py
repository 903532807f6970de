"""`python -m bench NAME [flags]`: run one experiment; `python -m bench --list`: list them.

Run from the repository root. `python -m bench NAME --help` lists NAME's flags
(underscores, as main.py spells them: --max_seconds, --results_dir, ...).
"""

import importlib
import os
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
if REPO not in sys.path:
  sys.path.insert(0, REPO)

from bench.experiments import EXPERIMENTS  # noqa: E402  pylint: disable=wrong-import-position

USAGE = ("usage: python -m bench NAME [flags]   (NAME --help for its flags)\n"
         "       python -m bench --list")


def listing():
  """One line per experiment: name, results files, what it compares."""
  width = max(len(name) for name in EXPERIMENTS)
  return "\n".join(f"{e.name.ljust(width)}  {', '.join('results/' + r for r in e.results)}: "
                   f"{e.summary}" for e in EXPERIMENTS.values())


def main(argv=None):
  argv = sys.argv[1:] if argv is None else list(argv)
  if not argv or argv[0] in ("-h", "--help"):
    print(USAGE + "\n\n" + listing())
    return 0 if argv else 2
  if argv[0] == "--list":
    print(listing())
    return 0
  name, flags = argv[0], argv[1:]
  if name not in EXPERIMENTS:
    print(f"python -m bench: no experiment {name!r}; `python -m bench --list` lists them.",
          file=sys.stderr)
    return 2
  experiment = EXPERIMENTS[name]
  if experiment.kind == "grid":
    from bench import runner  # pylint: disable=import-outside-toplevel
    module = importlib.import_module(f"bench.experiments.{experiment.target}")
    runner.run_grid(module, flags)
    return 0
  script, *fixed = experiment.target
  env = dict(os.environ, PYTHONPATH=os.pathsep.join(
      p for p in (REPO, os.environ.get("PYTHONPATH")) if p),
             BENCH_COMMAND=" ".join(["python -m bench", name, *map(shlex.quote, flags)]))
  return subprocess.call([sys.executable, os.path.join(HERE, script), *fixed, *flags],
                         cwd=REPO, env=env)


if __name__ == "__main__":
  sys.exit(main())

"""The bench scripts' shared pieces: bench/runner.py's names, for scripts run as files.

`python bench/SCRIPT.py` puts bench/ on sys.path, so the scripts import this
module, which puts the repository on sys.path and re-exports the runner's
public names (`import benchlib as bl`; `bl.load_clips`, `bl.score`, ...).
New experiments are modules in bench/experiments/ using `bench.runner` itself.
"""

import os
import sys

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO not in sys.path:
  sys.path.insert(0, _REPO)

from bench.runner import *  # noqa: E402,F401,F403  pylint: disable=wildcard-import,unused-wildcard-import,wrong-import-position
from bench.runner import (  # noqa: E402,F401  pylint: disable=wrong-import-position
    PESQ_ERROR, STOI_ERROR, pesq_fn, stoi_fn)

# Older spellings still read by compat_bench.py and tts_bench.py (edited elsewhere at present);
# new code uses pesq_fn / PESQ_ERROR.
_pesq, _stoi, _PESQ_ERROR, _STOI_ERROR = pesq_fn, stoi_fn, PESQ_ERROR, STOI_ERROR

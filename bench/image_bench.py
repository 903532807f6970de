"""Kept for `python bench/image_bench.py`: the same as `python -m bench image` (bench/experiments/image.py)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.__main__ import main  # noqa: E402  pylint: disable=wrong-import-position

if __name__ == "__main__":
  sys.exit(main(["image", *sys.argv[1:]]))

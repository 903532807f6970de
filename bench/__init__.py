"""The bench: `python -m bench NAME [flags]` runs one experiment; `python -m bench --list`.

bench/runner.py owns the corpus, warm-up, timing, float64 librosa scoring and
the results files; bench/experiments/ holds the experiments (see its
`EXPERIMENTS`). Run from the repository root.
"""

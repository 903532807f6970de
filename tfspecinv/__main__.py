# `python -m tfspecinv IN OUT [--flags]`: the command line, as `python main.py` and the
# installed `tfspecinv` command. No docstring: --help shows tfspecinv.cli's manual.

from absl import flags

from tfspecinv import jobs
from tfspecinv.cli import console_entry_point

# The flags live in tfspecinv.jobs (shared with the Beam pipeline); --helpshort
# lists the key flags of the main module, so adopt them here.
flags.adopt_module_key_flags(jobs)

if __name__ == "__main__":
  console_entry_point()

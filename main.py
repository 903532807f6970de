"""tfspecinv: spectrograms back to audio. See tfspecinv/cli.py or `python main.py --helpshort`."""

from absl import flags

from tfspecinv import jobs
from tfspecinv.cli import console_entry_point

# The flags live in tfspecinv.jobs (shared with the Beam pipeline); --helpshort
# lists the key flags of the main module, so adopt them here.
flags.adopt_module_key_flags(jobs)

if __name__ == "__main__":
  console_entry_point()

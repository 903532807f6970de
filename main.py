"""tfspecinv: spectrograms back to audio. See tfspecinv/cli.py or `python main.py --helpshort`."""

from tfspecinv.cli import console_entry_point

if __name__ == "__main__":
  console_entry_point()

"""Raw float32 spectrogram frames on stdin -> 16-bit PCM on stdout, as they come.

Each frame is `n_features` float32 values (native byte order), e.g. an acoustic
model's mel frames written as they are produced. Play it live with sox:

  python my_tts.py | python examples/stream_stdin.py --n_mels=80 --fmax=8000 \\
      | sox -t raw -r 22050 -e signed -b 16 -c 1 - -d

The stream ends at end of input (or Ctrl-C): the last samples are flushed.
`python examples/stream_stdin.py OUT_DIR` instead streams the bundled speech
clip's mel and writes OUT_DIR/streamed.wav (a demo without a pipe).
Flags: --convention, --representation, --sample_rate, --n_fft, --hop_length,
--n_mels, --fmax, --power, --scale, --chunk (frames per push), --lookahead.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import tfspecinv  # noqa: E402
from tfspecinv import conventions  # noqa: E402


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--convention", default="librosa")
  parser.add_argument("--representation", default="mel")
  parser.add_argument("--sample_rate", type=int, default=22050)
  parser.add_argument("--n_fft", type=int, default=1024)
  parser.add_argument("--hop_length", type=int, default=256)
  parser.add_argument("--n_mels", type=int, default=80)
  parser.add_argument("--fmax", type=float, default=None)
  parser.add_argument("--power", type=float, default=None)
  parser.add_argument("--scale", default=None)
  parser.add_argument("--chunk", type=int, default=1, help="frames per push")
  parser.add_argument("--lookahead", type=int, default=3)
  parser.add_argument("demo_dir", nargs="?", help="demo: stream the bundled clip into this folder")
  args = parser.parse_args()
  overrides = dict(representation=args.representation, sample_rate=args.sample_rate,
                   n_fft=args.n_fft, hop_length=args.hop_length, n_mels=args.n_mels,
                   layout="frames_bins")
  for name in ("fmax", "power", "scale"):
    if getattr(args, name) is not None:
      overrides[name] = getattr(args, name)
  config = conventions.make(args.convention, **overrides)
  inverter = tfspecinv.StreamingInverter(config, lookahead=args.lookahead)
  frame_bytes = 4 * config.n_features
  source, sink = sys.stdin.buffer, sys.stdout.buffer
  print(f"stream_stdin: {config.n_features} float32 values per frame, latency "
        f"{1000 * inverter.latency_seconds:.1f} ms", file=sys.stderr)

  def write(samples):
    sink.write((np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes())
    sink.flush()

  if args.demo_dir:
    return demo(config, inverter, args.demo_dir)
  pending = b""
  try:
    while True:
      data = source.read1(frame_bytes * args.chunk) if hasattr(source, "read1") else \
          source.read(frame_bytes * args.chunk)
      if not data:
        break
      pending += data
      whole = len(pending) // frame_bytes
      if whole:
        frames = np.frombuffer(pending[:whole * frame_bytes], np.float32)
        pending = pending[whole * frame_bytes:]
        write(inverter.push(frames.reshape(whole, config.n_features)))
  except KeyboardInterrupt:
    pass
  write(inverter.flush())
  if pending:
    print(f"stream_stdin: dropped {len(pending)} trailing bytes (not a whole frame)",
          file=sys.stderr)


def demo(config, inverter, folder):
  """Stream the bundled clip's frames one at a time into FOLDER/streamed.wav."""
  import time  # pylint: disable=import-outside-toplevel
  import soundfile  # pylint: disable=import-outside-toplevel
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  y, rate = soundfile.read(os.path.join(root, "samples", "speech_female_ljspeech.wav"),
                           dtype="float32")
  seconds = 1 if os.environ.get("TFSPECINV_EXAMPLE_FAST") else 5
  y = y[:rate * seconds]
  frames = tfspecinv.forward(y, config.replace(sample_rate=rate)).numpy()   # [frames, features]
  started = time.perf_counter()
  pieces = [inverter.push(frame) for frame in frames] + [inverter.flush()]
  took = time.perf_counter() - started
  audio = np.concatenate(pieces)
  os.makedirs(folder, exist_ok=True)
  soundfile.write(os.path.join(folder, "streamed.wav"), audio, rate)
  print(f"streamed {len(frames)} frames one by one into {len(audio)} samples in {took:.2f}s "
        f"(real-time factor {took * rate / len(audio):.2f}, latency "
        f"{1000 * inverter.latency_seconds:.1f} ms)")


if __name__ == "__main__":
  main()

"""One side of `python -m bench parity`: inverts what the parent asks, with its own tfspecinv.

Run by bench/experiments/parity.py as `python parity_worker.py` with PYTHONPATH
set to one source tree, so `import tfspecinv` loads that tree's package. It
imports nothing from the bench (the tree under test may not have it).
Requests arrive on stdin, one JSON object a line: {"representation",
"input" (.npy or .png), "length", "output" (.npy)}; each answer is one stdout
line `@@parity {json}`: the seconds of the call (reading the picture
included, as main.py does), and the engine's work. An empty line ends it.
"""

import json
import os
import sys
import time

import numpy as np

SR, N_FFT, HOP = 22050, 1024, 256


def _configs(tfspecinv):
  base = dict(sample_rate=SR, n_fft=N_FFT, hop_length=HOP)
  config = tfspecinv.SpectrogramConfig.librosa
  return {
      "mel": config(**base, n_mels=80, fmax=8000.0, power=2.0, representation="mel"),
      "mfcc": config(**base, n_mels=128, n_mfcc=40, representation="mfcc", scale="db"),
      "stft": config(**base, representation="stft", power=1.0),
  }


def _picture(tfspecinv, configs, path, length):
  """(values, config) of a dB picture over (-80, 0), as main.py reads plain pictures."""
  from tfspecinv import image  # pylint: disable=import-outside-toplevel
  stft = configs["stft"]
  if hasattr(image, "PictureMap") and hasattr(image, "picture_config"):
    picture_map = image.PictureMap(db_range=(-80.0, 0.0))
    config = image.picture_config(stft, picture_map)
    values, _ = image.read_picture(path, picture_map,
                                   (config.n_features, config.num_frames(length)), False)
  else:
    config = image.image_config(stft, (-80.0, 0.0))
    values, _ = image.read_spectrogram_image(path, (-80.0, 0.0),
                                             shape=(N_FFT // 2 + 1, None))
  return values, config


def main():
  import tfspecinv  # pylint: disable=import-outside-toplevel
  configs = _configs(tfspecinv)
  print("@@parity " + json.dumps({"ready": True, "tfspecinv": os.path.abspath(tfspecinv.__file__),
                                  "version": getattr(tfspecinv, "__version__", "?")}), flush=True)
  for line in sys.stdin:
    if not line.strip():
      break
    job = json.loads(line)
    representation, length = job["representation"], int(job["length"])
    started = time.perf_counter()
    if representation == "picture":
      values, config = _picture(tfspecinv, configs, job["input"], length)
    else:
      values, config = np.load(job["input"]), configs[representation]
    waveform, result = tfspecinv.reconstruct(values, config, length=length)
    seconds = time.perf_counter() - started
    np.save(job["output"], np.asarray(waveform, np.float32))
    print("@@parity " + json.dumps({
        "seconds": seconds, "stop": str(getattr(result, "stop_reason", "?")),
        "gl_it": int(np.ravel(getattr(result, "gl_iterations", -1))[0]),
        "lb_it": int(np.ravel(getattr(result, "lbfgs_iterations", -1))[0])}), flush=True)


if __name__ == "__main__":
  sys.exit(main())

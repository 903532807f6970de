"""Spectrogram pictures made the common way (librosa + specshow) back to audio.

Each clip becomes `amplitude_to_db(|stft|, ref=np.max)` (n_fft 1024, hop 256,
top_db 80), drawn with `librosa.display.specshow(cmap='gray')` and saved
without axes, one pixel per cell, as a PNG and a JPEG (quality 90); the
picture is read back with `tfspecinv.image.read_spectrogram_image((-80, 0))`
and inverted by `reconstruct` (defaults, and 32 Griffin-Lim + 200 L-BFGS
iterations). Baseline: librosa `griffinlim` (32 iterations) on the same
decoded values; the engine on the exact dB values shows what 8 bits cost.
Scored by the runner: STOI, PESQ-WB, and SC / LSD of the STFT magnitude after
the least-squares gain (a picture holds no level); seconds of the inversion
(the picture already read).
"""

import os
import shutil
import tempfile

import numpy as np

from bench import runner

NAME = "image"
TITLE = "Spectrogram pictures (specshow PNG / JPEG) to audio"
DEFAULT_CLIPS = "speech_*"
GRID = [
    {"label": "png engine", "picture": "png", "how": "engine"},
    {"label": "png 32+200", "picture": "png", "how": "engine", "gl_iters": 32,
     "lbfgs_iters": 200},
    {"label": "png librosa GL32", "picture": "png", "how": "librosa"},
    {"label": "jpg engine", "picture": "jpg", "how": "engine"},
    {"label": "exact dB engine", "picture": None, "how": "engine"},
]
for _setting in GRID:
  _setting["representation"] = "picture"  # Scored as a picture: level fitted first.

_state = {}


def save_picture(db, path):
  """`specshow` of dB values in grey, no axes, one pixel per cell (JPEG: quality 90)."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  import librosa.display  # pylint: disable=import-outside-toplevel
  figure = plt.figure(figsize=(db.shape[1] / 100.0, db.shape[0] / 100.0), dpi=100)
  axis = figure.add_axes([0, 0, 1, 1])
  axis.set_axis_off()
  librosa.display.specshow(db, sr=runner.SR, hop_length=runner.HOP, cmap="gray", ax=axis)
  figure.savefig(path, dpi=100, **({"pil_kwargs": {"quality": 90}} if path.endswith(".jpg")
                                   else {}))
  plt.close(figure)


def setup(context):
  import tfspecinv  # pylint: disable=import-outside-toplevel
  from tfspecinv import image  # pylint: disable=import-outside-toplevel
  _state.update(tfspecinv=tfspecinv, image=image, folder=tempfile.mkdtemp(prefix="bench-image-"),
                values={}, config=image.image_config(tfspecinv.SpectrogramConfig.librosa(
                    sample_rate=runner.SR, n_fft=runner.N_FFT, hop_length=runner.HOP,
                    power=1.0), (-80.0, 0.0)))
  context.notes.append("pictures: amplitude_to_db(|stft|, ref=max, top_db 80) drawn by specshow "
                       "(grey, no axes, one pixel per cell), PNG and JPEG (quality 90), read by "
                       "tfspecinv.image.read_spectrogram_image((-80, 0), resize=True); 'exact dB' "
                       "inverts the dB values themselves")


def _values(clip, picture):
  key = (clip.name, len(clip.y), picture)
  if key not in _state["values"]:
    db = runner.representation_of(clip.y, "picture").astype(np.float32)
    if picture is None:
      _state["values"][key] = db
    else:
      path = os.path.join(_state["folder"], f"{clip.name}.{picture}")
      save_picture(db, path)
      _state["values"][key], _ = _state["image"].read_spectrogram_image(
          path, (-80, 0), shape=db.shape, resize=True)
  return _state["values"][key]


def run(clip, setting):
  values, n = _values(clip, setting["picture"]), len(clip.y)
  if setting["how"] == "librosa":
    import librosa  # pylint: disable=import-outside-toplevel
    (waveform, seconds) = runner.timed(
        librosa.griffinlim, librosa.db_to_amplitude(values), n_iter=32, hop_length=runner.HOP,
        n_fft=runner.N_FFT, length=n, random_state=0)
    return {"waveform": waveform, "seconds": seconds}
  kwargs = {k: setting[k] for k in ("gl_iters", "lbfgs_iters") if k in setting}
  (waveform, _), seconds = runner.timed(_state["tfspecinv"].reconstruct, values,
                                        _state["config"], length=n, **kwargs)
  return {"waveform": np.asarray(waveform, np.float64), "seconds": seconds}


def teardown(context):
  if _state.get("folder"):
    shutil.rmtree(_state["folder"], ignore_errors=True)


def tables(context, rows):
  results = {}
  for clip, setting, row in rows:
    results.setdefault(clip.name, {})[setting["label"]] = row
  methods = [(s["label"], s["label"]) for s in GRID]
  clips = context.clips
  out = []
  if runner.stoi_fn is not None:
    out.append(runner.metric_table("STOI (higher is better)", clips, results, methods, "stoi",
                                   "{:.3f}"))
  if runner.pesq_fn is not None:
    out.append(runner.metric_table("PESQ-WB (16 kHz; higher is better)", clips, results, methods,
                                   "pesq", "{:.2f}"))
  out.append(runner.metric_table(
      "Spectral convergence of the STFT magnitude after the least-squares gain, dB", clips,
      results, methods, "sc", "{:.2f}"))
  out.append(runner.metric_table("Seconds of the inversion (the picture already read)", clips,
                                 results, methods, "seconds", "{:.2f}"))
  return out

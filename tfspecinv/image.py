"""Spectrogram pictures (PNG/JPEG) back to dB values.

A picture is 8-bit: with an 80 dB range each grey level is a 0.31 dB step, and
JPEG adds block artefacts, so quality is bounded by the picture, not the
engine. The common way to make one, which this module undoes:

    D = librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=np.max)   # [-80, 0] dB
    librosa.display.specshow(D, cmap='gray')                            # low frequencies at the bottom
    plt.savefig('spec.png')                                             # without axes

`read_spectrogram_image(path, db_range=(-80, 0))` returns `D` (rows = bins,
low frequencies first); invert it with a config whose `scale='db'`,
`ref='max'`, `top_db=80` and `power=1`.
"""

import numpy as np
import tensorflow as tf

from tfspecinv.errors import SpecInvError

__all__ = ["IMAGE_EXTENSIONS", "read_spectrogram_image", "image_config"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")


def _decode(path):
  try:
    data = tf.io.read_file(path)
    pixels = tf.io.decode_image(data, expand_animations=False).numpy()
  except (tf.errors.NotFoundError,) as error:
    raise SpecInvError(f"{path}: no such file.") from None
  except (tf.errors.InvalidArgumentError, tf.errors.OpError) as error:
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    raise SpecInvError(f"{path}: cannot decode the image ({message}); is it a corrupt or "
                       "truncated PNG/JPEG?") from None
  if pixels.dtype != np.uint8:
    pixels = (pixels.astype(np.float64) / np.iinfo(pixels.dtype).max * 255.0)
  return pixels.astype(np.float64)


def _levels_from_colormap(rgb, colormap):
  """Each pixel's position in [0, 1] along a matplotlib colormap (nearest colour)."""
  try:
    from matplotlib import colormaps  # pylint: disable=import-outside-toplevel
  except ImportError:
    raise SpecInvError(f"colormap={colormap!r} needs matplotlib (pip install -e '.[plot]'); "
                       "grayscale images need nothing.") from None
  if colormap not in colormaps:
    raise SpecInvError(f"colormap={colormap!r} is not a matplotlib colormap; try 'gray', "
                       "'magma', 'viridis', 'inferno'...")
  table = colormaps[colormap](np.linspace(0.0, 1.0, 256))[:, :3] * 255.0
  flat = rgb.reshape(-1, 3)
  best = np.empty(flat.shape[0], dtype=np.int64)
  for start in range(0, flat.shape[0], 65536):  # Bounded memory for large pictures.
    chunk = flat[start:start + 65536]
    distance = ((chunk[:, None, :] - table[None, :, :]) ** 2).sum(axis=-1)
    best[start:start + 65536] = distance.argmin(axis=1)
  return (best / 255.0).reshape(rgb.shape[:2])


def read_spectrogram_image(path, db_range, colormap="gray", origin="lower", shape=None,
                           resize=False):
  """dB values `[bins, frames]` from a spectrogram picture.

  Args:
    path: PNG or JPEG file.
    db_range: (low, high) dB that the darkest and brightest colours stand for
      (e.g. (-80, 0) for `amplitude_to_db(..., ref=np.max)` with top_db 80).
    colormap: 'gray' (default) or a matplotlib colormap name used to draw it.
    origin: 'lower' (low frequencies at the bottom, as `specshow` draws) or
      'upper' (first row is the lowest frequency).
    shape: Expected (bins, frames); None accepts the picture's size, and a
      None frame count accepts its width.
    resize: Resize to `shape` (bilinear) instead of failing when it differs.

  Returns:
    (float32 array `[bins, frames]` in dB, note): `note` says what was
    resized, or is None.

  Raises:
    SpecInvError: unreadable file, bad range/colormap/origin, or a size that
      does not match `shape` without `resize`.
  """
  low, high = (float(v) for v in db_range)
  if not high > low:
    raise SpecInvError(f"db_range={db_range!r}: the high end must exceed the low end, "
                       "e.g. -80,0.")
  if origin not in ("lower", "upper"):
    raise SpecInvError(f"origin={origin!r} is not supported; use 'lower' or 'upper'.")
  pixels = _decode(path)
  color = pixels[..., :3] if pixels.shape[-1] >= 3 else pixels[..., :1]
  if colormap == "gray" or color.shape[-1] == 1:
    levels = color.mean(axis=-1) / 255.0
  else:
    levels = _levels_from_colormap(color, colormap)
  if origin == "lower":
    levels = levels[::-1]
  note = None
  if shape is not None:
    shape = (int(shape[0]), levels.shape[1] if shape[1] is None else int(shape[1]))
  if shape is not None and tuple(levels.shape) != tuple(shape):
    if not resize:
      raise SpecInvError(
          f"{path}: the picture is {levels.shape[0]} rows x {levels.shape[1]} columns but the "
          f"settings expect {shape[0]} bins x {shape[1]} frames; pass --resize to resample "
          "it (or fix --n_fft).")
    resized = tf.image.resize(levels[..., None], shape, method="bilinear").numpy()[..., 0]
    note = (f"resized the picture from {levels.shape[0]}x{levels.shape[1]} to "
            f"{shape[0]}x{shape[1]} (bins x frames)")
    levels = np.clip(resized, 0.0, 1.0)
  return (low + levels * (high - low)).astype(np.float32), note


def image_config(config, db_range):
  """`config` set up for dB pictures: dB relative to the maximum, clipped at the range."""
  low, high = (float(v) for v in db_range)
  return config.replace(scale="db", ref="max", top_db=high - low)

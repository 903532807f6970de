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

Pictures of any size decode: `plt.figure(figsize=(20, 20))` saved at
`dpi=1000` is 20000x20000 px. With a target shape and `resize`, a JPEG is
decoded at 1/8, 1/4 or 1/2 scale (libjpeg's DCT scaling; 0.5 s and ~120 MB
for that one) and a PNG is block-averaged from its 8/16 bits before any
float conversion. TensorFlow's decoders stop at 2^29 bytes (JPEG) or pixels
(PNG); past that, Pillow decodes when it is installed.
"""

import collections
import math
import os

import numpy as np
import tensorflow as tf

from tfspecinv.errors import SpecInvError

__all__ = ["IMAGE_EXTENSIONS", "read_spectrogram_image", "image_config", "picture_size"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")

# TensorFlow's decoders refuse outputs at or over these sizes (jpeg_mem.cc: output
# height x width x the file's components; decode_image_op.cc: PNG height x width).
_TF_JPEG_LIMIT = 1 << 29
_TF_PNG_LIMIT = 1 << 29
_REDUCTIONS = (8, 4, 2, 1)  # The scales libjpeg can decode at (1/8 ... 1/1).
_MARGIN = 2  # Reduced pictures keep at least twice the pixels needed (see `_reduction`).
_STRIP_PIXELS = 1 << 22  # Pixels converted to float at a time while reducing.
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"IEND\xaeB`\x82"
_JPEG_MAGIC = b"\xff\xd8\xff"

_PILLOW_MODES = ("L", "LA", "RGB", "RGBA", "I;16", "I;16B", "I;16L", "I")

_Header = collections.namedtuple("_Header", "format height width components depth")
_Decoded = collections.namedtuple("_Decoded", "pixels maximum size ratio rest decoder")


def _read_bytes(path):
  if not os.path.isfile(path):
    raise SpecInvError(f"{path}: no such file.")
  with open(path, "rb") as handle:
    return handle.read()


def _parse_header(path, data):
  """Format, size, components and bit depth from the file's first bytes.

  Raises:
    SpecInvError: not a PNG/JPEG, or too short to hold a header.
  """
  if not data:
    raise SpecInvError(f"{path}: the file is empty (0 bytes); not a PNG/JPEG picture.")
  if data.startswith(_PNG_MAGIC):
    if len(data) < 33 or data[12:16] != b"IHDR":
      raise SpecInvError(f"{path}: the PNG file is truncated or corrupt: it is {len(data)} "
                         "bytes and has no complete header; save or copy it again.")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    components = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}.get(data[25], 4)
    return _Header("PNG", height, width, components, data[24])
  if data.startswith(_JPEG_MAGIC):
    try:
      height, width, components = (int(v) for v in tf.io.extract_jpeg_shape(data).numpy())
    except tf.errors.OpError:
      raise SpecInvError(f"{path}: {_jpeg_damage(data)}; no complete JPEG header could be "
                         "read.") from None
    return _Header("JPEG", height, width, components, 8)
  raise SpecInvError(f"{path}: not a PNG or JPEG picture (it starts with {data[:8]!r}); "
                     "save the spectrogram with savefig('spec.png') or '.jpg'.")


def _truncated(header, data):
  """Whether the file lacks its end marker (JPEG end-of-image, PNG IEND chunk)."""
  end = b"\xff\xd9" if header.format == "JPEG" else _PNG_END
  return not data.rstrip(b"\0\r\n").endswith(end)


def _jpeg_damage(data):
  if _truncated(_Header("JPEG", 0, 0, 0, 8), data):
    return (f"the JPEG file is truncated ({len(data)} bytes, no end-of-image marker): it was "
            "cut off while being written or copied")
  return "the JPEG data is corrupt although the file ends properly"


def _damage(header, data):
  """Why a decoder failed on a file whose header is fine: truncated or corrupt."""
  if header.format == "JPEG":
    return _jpeg_damage(data)
  if _truncated(header, data):
    return (f"the PNG file is truncated ({len(data)} bytes, no IEND chunk at the end): it was "
            "cut off while being written or copied")
  return "the PNG data is corrupt although the file ends properly"


def picture_size(path):
  """(height, width) in pixels of a PNG/JPEG, read from its header without decoding.

  Raises:
    SpecInvError: missing file, not a PNG/JPEG, or no readable header.
  """
  header = _parse_header(path, _read_bytes(path))
  return header.height, header.width


def _reduction(size, needed):
  """The largest of 8, 4, 2, 1 that leaves at least `_MARGIN` x `needed` pixels of `size`.

  The margin keeps two or more pixels per bin or frame for the final bilinear
  resampling, which then reads each cell without blending in its neighbours
  (with one pixel per cell a small picture came back 1 dB off); None: 1.
  """
  if needed is None:
    return 1
  return next(f for f in _REDUCTIONS if f == 1 or math.ceil(size / f) >= _MARGIN * needed)


def _decoder_size(header, ratio):
  """What TensorFlow's decoder checks against its limit at 1/`ratio` scale."""
  rows, columns = math.ceil(header.height / ratio), math.ceil(header.width / ratio)
  if header.format == "JPEG":
    return rows * columns * header.components, _TF_JPEG_LIMIT, "bytes"
  return rows * columns, _TF_PNG_LIMIT, "pixels"


def _decode(path, needed=(None, None), gray=False):
  """Pixels of a picture, reduced while decoding where `needed` allows.

  Args:
    path: PNG or JPEG file.
    needed: (rows, columns) the caller needs at least; None for an axis keeps
      it at full size.
    gray: Only grey levels are needed (lets Pillow decode a JPEG to one channel).

  Returns:
    `_Decoded`: `pixels` (uint8/uint16 `[rows, columns, channels]`), `maximum`
    (the value of white), `size` (the picture's (height, width)), `ratio`
    (JPEGs are decoded at 1/`ratio` scale: 8, 4, 2 or 1), `rest` ((rows,
    columns) block factors left for `_reduce`) and `decoder` ('tensorflow' or
    'pillow').

  Raises:
    SpecInvError: missing, not a picture, truncated, corrupt, or too large
      for every decoder available.
  """
  data = _read_bytes(path)
  header = _parse_header(path, data)
  factors = (_reduction(header.height, needed[0]), _reduction(header.width, needed[1]))
  ratio = min(factors) if header.format == "JPEG" else 1
  size, limit, _ = _decoder_size(header, ratio)
  rest = (factors[0] // ratio, factors[1] // ratio)
  decoded = lambda pixels, decoder: _Decoded(
      pixels, 65535 if pixels.dtype == np.uint16 else 255, (header.height, header.width), ratio,
      rest, decoder)
  if size < limit:
    pixels = _decode_tensorflow(header, data, ratio)
    if pixels is not None:
      return decoded(pixels, "tensorflow")
  pixels = _decode_pillow(path, header, ratio, gray)
  if pixels is None:
    if size >= limit and not _truncated(header, data) and not _pillow_available():
      raise SpecInvError(_too_large(path, header, ratio))
    raise SpecInvError(f"{path}: {_damage(header, data)}; save or copy it again.")
  return decoded(pixels, "pillow")


def _pillow_available():
  try:
    import PIL  # pylint: disable=import-outside-toplevel,unused-import
  except ImportError:
    return False
  return True


def _too_large(path, header, ratio):
  """A valid picture past TensorFlow's limit, with no Pillow: the sizes and what to do."""
  size, limit, unit = _decoder_size(header, ratio)
  scale = f" at 1/{ratio} scale" if ratio > 1 else ""
  plural = "s" if header.components > 1 else ""
  return (f"{path}: the picture is {header.width}x{header.height} px ({header.components} "
          f"component{plural}): {size:,} {unit} to decode{scale}, over TensorFlow's "
          f"{header.format} decoder limit of {limit:,}; install Pillow (pip install pillow) to "
          "decode it, give the frame count (--length or --duration) with --resize so a JPEG "
          "can be decoded at reduced scale, or save it smaller (lower dpi).")


def _decode_tensorflow(header, data, ratio):
  """uint8/uint16 pixels from TensorFlow, or None when its decoder fails."""
  try:
    if header.format == "JPEG":
      return tf.io.decode_jpeg(data, channels=0, ratio=ratio).numpy()
    dtype = tf.uint16 if header.depth == 16 else tf.uint8
    return tf.io.decode_png(data, channels=0, dtype=dtype).numpy()
  except tf.errors.OpError:
    return None


def _decode_pillow(path, header, ratio, gray):
  """Pixels from Pillow (no size limit; JPEG at 1/`ratio` scale), or None.

  None when Pillow is not installed or cannot decode the file either. A JPEG
  wanted in `gray` is decoded to its luma channel (a third of the memory).
  """
  try:
    from PIL import Image  # pylint: disable=import-outside-toplevel
  except ImportError:
    return None
  limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # A local file, not a bomb.
  try:
    with Image.open(path) as picture:
      if header.format == "JPEG":
        picture.draft("L" if gray else picture.mode, (math.ceil(header.width / ratio),
                                                      math.ceil(header.height / ratio)))
      if picture.mode not in _PILLOW_MODES:
        picture = picture.convert("RGBA" if "A" in picture.mode else "RGB")
      pixels = np.asarray(picture)
  except (OSError, ValueError, SyntaxError):
    return None
  finally:
    Image.MAX_IMAGE_PIXELS = limit
  if pixels.dtype not in (np.uint8, np.uint16):
    pixels = np.clip(pixels, 0, 65535).astype(np.uint16)  # 'I' mode of 16-bit PNGs.
  return pixels if pixels.ndim == 3 else pixels[..., None]


def _reduce(pixels, maximum, factors, gray):
  """Levels in [0, 1] (gray) or RGB in [0, 255], block-averaged by `factors`.

  Sums a strip of rows at a time in integers and converts only the reduced
  strip to floats, so a large picture stays in its 8/16 bits until reduced.

  Returns:
    float32 `[rows, columns]` (gray) or `[rows, columns, 3]` (colour).
  """
  channels = slice(0, 3) if pixels.shape[-1] >= 3 else slice(0, 1)
  rows, columns = factors
  depth = 1 if gray else channels.stop
  reduced = np.empty((math.ceil(pixels.shape[0] / rows), math.ceil(pixels.shape[1] / columns),
                      depth), np.float32)
  strip = max(rows, (_STRIP_PIXELS // max(1, pixels.shape[1])) // rows * rows)
  scale = ((1.0 / channels.stop) if gray else 255.0) / maximum
  for start in range(0, pixels.shape[0], strip):
    block = pixels[start:start + strip, :, channels]
    block = (block.sum(axis=-1, keepdims=True, dtype=np.uint32) if gray else
             block.astype(np.uint32))
    block = _block_mean(block, rows, columns)
    reduced[start // rows:start // rows + block.shape[0]] = block * scale
  return reduced[..., 0] if gray else reduced


def _block_mean(block, rows, columns):
  """float32 means of `rows` x `columns` blocks (the last ones may be smaller)."""
  counts = np.ones((1, 1, 1), np.float32)
  for axis, factor in ((0, rows), (1, columns)):
    if factor > 1:
      starts = np.arange(0, block.shape[axis], factor)
      shape = [1, 1, 1]
      shape[axis] = -1
      counts = counts * np.diff(np.append(starts, block.shape[axis])).reshape(shape)
      block = np.add.reduceat(block, starts, axis=axis)
  return block.astype(np.float32) / counts.astype(np.float32)


def _colormap_table(colormap):
  """The 256 RGB colours (0-255) of a matplotlib colormap.

  Raises:
    SpecInvError: matplotlib missing or an unknown colormap name.
  """
  try:
    from matplotlib import colormaps  # pylint: disable=import-outside-toplevel
  except ImportError:
    raise SpecInvError(f"colormap={colormap!r} needs matplotlib (pip install -e '.[plot]'); "
                       "grayscale images need nothing.") from None
  if colormap not in colormaps:
    raise SpecInvError(f"colormap={colormap!r} is not a matplotlib colormap; try 'gray', "
                       "'magma', 'viridis', 'inferno'...")
  return colormaps[colormap](np.linspace(0.0, 1.0, 256))[:, :3] * 255.0


def _levels_from_colormap(rgb, table):
  """Each pixel's position in [0, 1] along a colormap `table` (nearest colour)."""
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

  Pictures of any size a plotting library writes are read. With `resize`, a
  large one is reduced while decoding (JPEG: libjpeg's 1/2, 1/4 or 1/8 DCT
  scaling; PNG: block means of its 8/16-bit pixels) by the largest factor
  that still leaves at least `shape`'s rows and columns, then resampled to
  `shape`; the full-size picture is never converted to floats.

  Args:
    path: PNG or JPEG file.
    db_range: (low, high) dB that the darkest and brightest colours stand for
      (e.g. (-80, 0) for `amplitude_to_db(..., ref=np.max)` with top_db 80).
    colormap: 'gray' (default) or a matplotlib colormap name used to draw it.
    origin: 'lower' (low frequencies at the bottom, as `specshow` draws) or
      'upper' (first row is the lowest frequency).
    shape: Expected (bins, frames); None accepts the picture's size, and a
      None frame count accepts its width (which is then kept at full size).
    resize: Resize to `shape` (bilinear) instead of failing when it differs.

  Returns:
    (float32 array `[bins, frames]` in dB, note): `note` says what was
    resized (and at what scale it was decoded), or is None.

  Raises:
    SpecInvError: unreadable, truncated or corrupt file, a picture too large
      for the decoders available, bad range/colormap/origin, or a size that
      does not match `shape` without `resize`.
  """
  low, high = (float(v) for v in db_range)
  if not high > low:
    raise SpecInvError(f"db_range={db_range!r}: the high end must exceed the low end, "
                       "e.g. -80,0.")
  if origin not in ("lower", "upper"):
    raise SpecInvError(f"origin={origin!r} is not supported; use 'lower' or 'upper'.")
  table = None if colormap == "gray" else _colormap_table(colormap)
  if shape is not None and not resize:
    _check_size(path, picture_size(path), shape)
  needed = (None, None) if shape is None or not resize else (shape[0], shape[1])
  decoded = _decode(path, needed, gray=table is None)
  gray = table is None or decoded.pixels.shape[-1] < 3
  levels = _reduce(decoded.pixels, decoded.maximum, decoded.rest, gray)
  decoded = decoded._replace(pixels=None)  # Free the decoded picture (it may be large).
  if not gray:
    levels = _levels_from_colormap(levels, table)
  if origin == "lower":
    levels = levels[::-1]
  note = None
  if shape is not None:
    shape = (int(shape[0]), levels.shape[1] if shape[1] is None else int(shape[1]))
  if shape is not None and tuple(levels.shape) != tuple(shape):
    resized = tf.image.resize(np.ascontiguousarray(levels)[..., None], shape,
                              method="bilinear").numpy()[..., 0]
    levels = np.clip(resized, 0.0, 1.0)
  if shape is not None and tuple(decoded.size) != tuple(shape):
    note = (f"resized the picture from {decoded.size[0]}x{decoded.size[1]} to "
            f"{shape[0]}x{shape[1]} (bins x frames)")
    if decoded.ratio > 1 or max(decoded.rest) > 1:
      note += (f", decoded at 1/{decoded.ratio * decoded.rest[0]} x "
               f"1/{decoded.ratio * decoded.rest[1]} scale first")
  levels = levels.astype(np.float32, copy=False)
  levels *= high - low  # In place: a picture kept at full size may be large.
  levels += low
  return levels, note


def _check_size(path, size, shape):
  """Without resizing, the picture must be `shape` (a None frame count: any width)."""
  expected = (int(shape[0]), size[1] if shape[1] is None else int(shape[1]))
  if tuple(size) != expected:
    raise SpecInvError(
        f"{path}: the picture is {size[0]} rows x {size[1]} columns but the settings expect "
        f"{expected[0]} bins x {expected[1]} frames; pass --resize to resample it (or fix "
        "--n_fft).")


def image_config(config, db_range):
  """`config` set up for dB pictures: dB relative to the maximum, clipped at the range."""
  low, high = (float(v) for v in db_range)
  return config.replace(scale="db", ref="max", top_db=high - low)

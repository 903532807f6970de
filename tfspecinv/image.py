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

Other pictures encode values another way; a `PictureMap` says how (grey
levels linear in dB or a power law of the values relative to their maximum,
loud dark or bright, which channel, which way up), and `read_picture(path,
picture_map)` undoes it. `PICTURE_MAPS` holds the maps of the presets whose
pictures are images from diffusion models:

  riffusion        `image_from_spectrogram` (riffusion/util/image_util.py):
                   255 - 255 * (mel / max(mel)) ** 0.25, low frequencies at
                   the bottom, RGB with equal channels.
  audio_diffusion  teticio/audio-diffusion `Mel.audio_slice_to_image`
                   (audiodiffusion/mel.py): (power_to_db(S, ref=np.max,
                   top_db=80) + 80) * 255 / 80, rounded, row 0 the lowest mel.

Pictures of any size decode: `plt.figure(figsize=(20, 20))` saved at
`dpi=1000` is 20000x20000 px. With a target shape and `resize`, a JPEG is
decoded at 1/8, 1/4 or 1/2 scale (libjpeg's DCT scaling; 0.5 s and ~120 MB
for that one) and a PNG is block-averaged from its 8/16 bits before any
float conversion. TensorFlow's decoders stop at 2^29 bytes (JPEG) or pixels
(PNG); past that, Pillow decodes when it is installed.
"""

import collections
import dataclasses
import math
import os
from typing import Optional, Tuple

import numpy as np
import tensorflow as tf

from tfspecinv.errors import SpecInvError

__all__ = ["IMAGE_EXTENSIONS", "read_spectrogram_image", "image_config", "picture_size",
           "PictureMap", "PICTURE_MAPS", "VALUE_MAPS", "CHANNELS", "picture_map",
           "encode_levels", "decode_levels", "read_picture", "picture_config"]

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


def _reduce(pixels, maximum, factors, gray, channel=None):
  """Levels in [0, 1] (gray) or RGB in [0, 255], block-averaged by `factors`.

  Sums a strip of rows at a time in integers and converts only the reduced
  strip to floats, so a large picture stays in its 8/16 bits until reduced.

  Args:
    pixels: uint8/uint16 `[rows, columns, channels]`.
    maximum: The value of white.
    factors: (rows, columns) block factors.
    gray: Grey levels wanted (else RGB).
    channel: With `gray`, None for the mean of the colour channels, or the
      index of the one channel to read (a picture with fewer channels reads
      its first).

  Returns:
    (float32 `[rows, columns]` (gray) or `[rows, columns, 3]` (colour), the
    mean over pixels of the spread between the colour channels, in [0, 1]:
    0 for a grey picture or a single channel read).
  """
  colour = pixels.shape[-1] >= 3
  if gray and channel is not None and colour:
    channels = slice(channel, channel + 1)
  else:
    channels = slice(0, 3) if colour else slice(0, 1)
  count = channels.stop - channels.start
  measure = gray and count == 3
  rows, columns = factors
  depth = 1 if gray else count
  reduced = np.empty((math.ceil(pixels.shape[0] / rows), math.ceil(pixels.shape[1] / columns),
                      depth), np.float32)
  strip = max(rows, (_STRIP_PIXELS // max(1, pixels.shape[1])) // rows * rows)
  scale = ((1.0 / count) if gray else 255.0) / maximum
  spread = 0
  for start in range(0, pixels.shape[0], strip):
    block = pixels[start:start + strip, :, channels]
    if measure:
      spread += int((block.max(axis=-1) - block.min(axis=-1)).sum(dtype=np.uint64))
    block = (block.sum(axis=-1, keepdims=True, dtype=np.uint32) if gray else
             block.astype(np.uint32))
    block = _block_mean(block, rows, columns)
    reduced[start // rows:start // rows + block.shape[0]] = block * scale
  spread = spread / max(1, pixels.shape[0] * pixels.shape[1]) / maximum
  return (reduced[..., 0] if gray else reduced), spread


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


VALUE_MAPS = ("db", "power")
CHANNELS = ("mean", "r", "g", "b")
_CHANNEL_INDEX = {"r": 0, "g": 1, "b": 2}
# Mean spread between the colour channels (in full-scale units) past which a
# picture read as grey is taken to be coloured: JPEG chroma noise on a grey
# picture stays near 1/255; a colormap spreads channels by a third or more.
_GREY_SPREAD = 8.0 / 255.0


@dataclasses.dataclass(frozen=True)
class PictureMap:
  """How a spectrogram picture encodes values (frozen, validated).

  A pixel's level `x` in [0, 1] (its grey level over white, or its position
  along `colormap`; `1 - x` with `invert`) stands for:

    value_map='db':    `low + x * (high - low)` dB, `db_range=(low, high)`
                       (dB relative to the maximum, e.g. `amplitude_to_db(S,
                       ref=np.max)` drawn over (-80, 0));
    value_map='power': `x ** (1 / image_power)` times the picture's maximum,
                       i.e. the picture holds `(S / max S) ** image_power`
                       of linear values S (Riffusion: 0.25, loud is dark).

  Fields:
    value_map: 'db' or 'power' (above).
    db_range: (low, high) dB of levels 0 and 1; 'db' only.
    image_power: The exponent of a 'power' map (> 0); 'power' only.
    invert: Loud is dark: level `x` reads as `1 - x` (Riffusion's `255 - data`).
    colormap: 'gray' or the matplotlib colormap the picture was drawn with.
    origin: 'lower' (low frequencies at the bottom) or 'upper' (row 0 is
      the lowest frequency).
    channel: For 'gray': 'mean' (the colour channels must be equal, as in a
      grey picture saved as RGB; a coloured one is refused) or one channel,
      'r', 'g' or 'b' (Riffusion stereo pictures hold the left channel in
      green and the right in blue).

  Raises:
    SpecInvError: at construction, for a field that cannot work, naming it
      and the fix.
  """

  value_map: str = "db"
  db_range: Optional[Tuple[float, float]] = None
  image_power: Optional[float] = None
  invert: bool = False
  colormap: str = "gray"
  origin: str = "lower"
  channel: str = "mean"

  def __post_init__(self):
    set_ = lambda name, value: object.__setattr__(self, name, value)
    if self.value_map not in VALUE_MAPS:
      raise SpecInvError(f"value_map={self.value_map!r} is not supported; use 'db' (grey "
                         "levels linear in dB) or 'power' (a power law of linear values).")
    if self.value_map == "db":
      if self.db_range is None:
        raise SpecInvError("value_map='db' needs db_range=(LOW, HIGH): the dB values of the "
                           "darkest and brightest colours (e.g. (-80, 0)).")
      if self.image_power is not None:
        raise SpecInvError(f"image_power={self.image_power!r} is for value_map='power'; drop "
                           "it or set value_map='power'.")
      try:
        low, high = (float(v) for v in self.db_range)
      except (TypeError, ValueError):
        raise SpecInvError(f"db_range={self.db_range!r}: use two numbers (LOW, HIGH), e.g. "
                           "(-80, 0).") from None
      if not (math.isfinite(low) and math.isfinite(high) and high > low):
        raise SpecInvError(f"db_range={self.db_range!r}: the high end must exceed the low end, "
                           "e.g. -80,0.")
      set_("db_range", (low, high))
    else:
      if self.db_range is not None:
        raise SpecInvError(f"db_range={self.db_range!r} is for value_map='db'; a 'power' "
                           "picture is relative to its maximum: drop it.")
      power = self.image_power
      if (power is None or isinstance(power, bool) or not isinstance(power, (int, float))
          or not math.isfinite(power) or power <= 0):
        raise SpecInvError(f"value_map='power' needs image_power > 0 (levels are (S / max S) "
                           f"** image_power; Riffusion: 0.25), got {power!r}.")
      set_("image_power", float(power))
    if not isinstance(self.invert, (bool, np.bool_)):
      raise SpecInvError(f"invert={self.invert!r} must be True (loud is dark) or False.")
    set_("invert", bool(self.invert))
    if self.origin not in ("lower", "upper"):
      raise SpecInvError(f"origin={self.origin!r} is not supported; use 'lower' or 'upper'.")
    if self.channel not in CHANNELS:
      raise SpecInvError(f"channel={self.channel!r} is not supported; use one of "
                         f"{', '.join(map(repr, CHANNELS))}.")
    if self.channel != "mean" and self.colormap != "gray":
      raise SpecInvError(f"channel={self.channel!r} reads one channel as grey levels, but "
                         f"colormap={self.colormap!r} needs all three; drop one of them.")

  def replace(self, **changes):
    """A copy with some fields changed, validated again."""
    return dataclasses.replace(self, **changes)


PICTURE_MAPS = {
    # riffusion/util/image_util.py image_from_spectrogram: (mel / max) ** 0.25 * 255,
    # inverted, flipped (low frequencies at the bottom), L converted to RGB.
    "riffusion": PictureMap(value_map="power", image_power=0.25, invert=True, origin="lower"),
    # audiodiffusion/mel.py audio_slice_to_image: (power_to_db(S, ref=np.max, top_db=80)
    # + 80) * 255 / 80, mode L, row 0 the first mel band.
    "audio_diffusion": PictureMap(value_map="db", db_range=(-80.0, 0.0), origin="upper"),
}


def picture_map(convention):
  """The `PictureMap` of a convention's pictures, or None when it has none.

  Args:
    convention: A `tfspecinv.conventions.NAMES` entry.

  Returns:
    A `PictureMap` ('riffusion', 'audio_diffusion') or None.
  """
  return PICTURE_MAPS.get(convention)


def encode_levels(values, picture_map_):
  """Values -> the picture's levels in [0, 255], before quantisation (NumPy).

  The forward half of a `PictureMap`: what a picture of `values` holds
  before it is rounded to 8 bits (and flipped per `origin`, and coloured).

  Args:
    values: float array `[..., bins, frames]`: dB relative to the maximum
      for 'db' (as the config's forward gives them), linear values for
      'power' (each `[bins, frames]` is taken relative to its own maximum).
    picture_map_: `PictureMap`.

  Returns:
    float array, same shape and float dtype: levels in [0, 255].
  """
  values = np.asarray(values)
  dtype = values.dtype if values.dtype.kind == "f" else np.float64
  values = values.astype(dtype, copy=False)
  if picture_map_.value_map == "db":
    low, high = picture_map_.db_range
    levels = np.clip((values - low) / (high - low), 0.0, 1.0)
  else:
    peak = np.max(values, axis=(-2, -1), keepdims=True)
    levels = np.power(np.clip(values / np.where(peak > 0, peak, 1), 0.0, 1.0),
                      picture_map_.image_power)
  levels = levels.astype(dtype) * dtype.type(255)
  return dtype.type(255) - levels if picture_map_.invert else levels


def decode_levels(levels, picture_map_):
  """Levels in [0, 1] -> values, in place where possible (NumPy float32).

  Args:
    levels: float array of levels in [0, 1] (grey level over white).
    picture_map_: `PictureMap`.

  Returns:
    float32 array: dB for 'db'; for 'power' linear values relative to the
    maximum (a level at the loud end is 1).
  """
  levels = np.asarray(levels, np.float32)
  if picture_map_.invert:
    np.subtract(1.0, levels, out=levels)
  if picture_map_.value_map == "db":
    low, high = picture_map_.db_range
    levels *= high - low  # In place: a picture kept at full size may be large.
    levels += low
    return levels
  return np.power(levels, np.float32(1.0 / picture_map_.image_power), out=levels)


def read_spectrogram_image(path, db_range, colormap="gray", origin="lower", shape=None,
                           resize=False):
  """dB values `[bins, frames]` from a spectrogram picture.

  `read_picture(path, PictureMap(db_range=db_range, colormap=colormap,
  origin=origin), shape, resize)`; see `read_picture`.

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
    SpecInvError: see `read_picture`.
  """
  return read_picture(path, PictureMap(db_range=db_range, colormap=colormap, origin=origin),
                      shape, resize)


def read_picture(path, picture_map_, shape=None, resize=False, size_hint="--n_fft"):
  """Values `[bins, frames]` from a spectrogram picture, as `picture_map_` says.

  Pictures of any size a plotting library writes are read. With `resize`, a
  large one is reduced while decoding (JPEG: libjpeg's 1/2, 1/4 or 1/8 DCT
  scaling; PNG: block means of its 8/16-bit pixels) by the largest factor
  that still leaves at least `shape`'s rows and columns, then resampled to
  `shape`; the full-size picture is never converted to floats.

  Args:
    path: PNG or JPEG file.
    picture_map_: `PictureMap`: how levels encode values.
    shape: Expected (bins, frames); None accepts the picture's size, and a
      None frame count accepts its width (which is then kept at full size).
    resize: Resize to `shape` (bilinear) instead of failing when it differs.
    size_hint: The setting a size mismatch names (e.g. '--n_mels').

  Returns:
    (float32 array `[bins, frames]`, note): dB for a 'db' map, linear values
    relative to the maximum for 'power'; `note` says what was resized (and
    at what scale it was decoded), or is None.

  Raises:
    SpecInvError: unreadable, truncated or corrupt file, a picture too large
      for the decoders available, an unknown colormap, a coloured picture
      read as grey, or a size that does not match `shape` without `resize`.
  """
  table = None if picture_map_.colormap == "gray" else _colormap_table(picture_map_.colormap)
  if shape is not None and not resize:
    _check_size(path, picture_size(path), shape, size_hint)
  needed = (None, None) if shape is None or not resize else (shape[0], shape[1])
  channel = _CHANNEL_INDEX.get(picture_map_.channel)
  decoded = _decode(path, needed, gray=table is None and channel is None)
  gray = table is None or decoded.pixels.shape[-1] < 3
  levels, spread = _reduce(decoded.pixels, decoded.maximum, decoded.rest, gray, channel)
  colours = decoded.pixels.shape[-1]
  decoded = decoded._replace(pixels=None)  # Free the decoded picture (it may be large).
  if spread > _GREY_SPREAD:
    stereo = (" (a Riffusion stereo picture holds the left channel in green, the right in "
              "blue: --channel=g or --channel=b)" if picture_map_.invert else "")
    raise SpecInvError(
        f"{path}: the picture is in colour (its {colours} channels differ by "
        f"{spread * 255:.0f} of 255 levels on average) but the value map reads grey levels; "
        "pass --colormap=NAME if it was drawn with a colormap, or --channel=r/g/b to read one "
        f"channel{stereo}.")
  if not gray:
    levels = _levels_from_colormap(levels, table)
  if picture_map_.origin == "lower":
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
  levels = np.ascontiguousarray(levels, dtype=np.float32)
  return decode_levels(levels, picture_map_), note


def _check_size(path, size, shape, size_hint="--n_fft"):
  """Without resizing, the picture must be `shape` (a None frame count: any width)."""
  expected = (int(shape[0]), size[1] if shape[1] is None else int(shape[1]))
  if tuple(size) != expected:
    raise SpecInvError(
        f"{path}: the picture is {size[0]} rows x {size[1]} columns but the settings expect "
        f"{expected[0]} bins x {expected[1]} frames; pass --resize to resample it (or fix "
        f"{size_hint}).")


def image_config(config, db_range):
  """`config` set up for dB pictures: dB relative to the maximum, clipped at the range."""
  low, high = (float(v) for v in db_range)
  return config.replace(scale="db", ref="max", top_db=high - low)


def picture_config(config, picture_map_):
  """`config` set up for the values `read_picture` gives under `picture_map_`.

  Args:
    config: `SpectrogramConfig` of the representation the picture shows.
    picture_map_: `PictureMap`.

  Returns:
    'db': `image_config(config, db_range)`; 'power': `config` with
    `scale='linear'` (values relative to the maximum; the absolute level is
    unknown either way).
  """
  if picture_map_.value_map == "db":
    return image_config(config, picture_map_.db_range)
  return config if config.scale == "linear" else config.replace(scale="linear")

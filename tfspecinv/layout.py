"""Moving between the stored layout of a spectrogram and the internal one.

Internally every op works on `[..., frames, features]` (tf.signal's layout, the
one `tf.signal.stft` and matrix products along the last axis want). Users
store `[..., features, frames]` (librosa, torchaudio) or `[..., frames,
features]` (tf.signal); `config.layout` says which.
"""

import tensorflow as tf

from tfspecinv.errors import SpecInvError

__all__ = ["to_frames_bins", "from_frames_bins", "flatten_batch", "unflatten_batch"]


def to_frames_bins(x, config, what="spectrogram"):
  """`x` in `config.layout` to `[..., frames, features]`."""
  if x.shape.rank is not None and x.shape.rank < 2:
    raise SpecInvError(
        f"the {what} has shape {x.shape.as_list()} but needs at least 2 dimensions "
        f"({_layout_words(config)}); add a frame axis.")
  return tf.linalg.matrix_transpose(x) if config.layout == "bins_frames" else x


def from_frames_bins(x, config):
  """`[..., frames, features]` to `config.layout`."""
  return tf.linalg.matrix_transpose(x) if config.layout == "bins_frames" else x


def _layout_words(config):
  return "[..., bins, frames]" if config.layout == "bins_frames" else "[..., frames, bins]"


def flatten_batch(x, inner_rank):
  """Reshape `[*batch, *inner]` to `[prod(batch), *inner]`; also returns `batch` shape."""
  shape = tf.shape(x)
  split = tf.size(shape) - inner_rank
  batch_shape = shape[:split]
  inner_shape = shape[split:]
  flat = tf.reshape(x, tf.concat([[-1], inner_shape], axis=0))
  return flat, batch_shape


def unflatten_batch(x, batch_shape, inner_rank):
  """Inverse of `flatten_batch` for a result with `inner_rank` trailing dims."""
  inner_shape = tf.shape(x)[1:1 + inner_rank]
  return tf.reshape(x, tf.concat([batch_shape, inner_shape], axis=0))

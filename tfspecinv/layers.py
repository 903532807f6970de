"""Inversion inside TensorFlow models: a Keras layer and a `tf.Module` with a serving signature.

Both run `pipeline.reconstruct_graph` (NNLS, Griffin-Lim, L-BFGS with fixed
iteration counts) as graph ops, so they work after a model that predicts mel
spectrograms, in `tf.data` pipelines, and in SavedModels that load where
tfspecinv (and TensorFlow Probability) are not installed.

>>> inverter = SpectrogramInverter(config)            # Keras 3 or tf-keras layer
>>> waveforms = inverter(mels)                        # [batch, n_mels, frames] -> [batch, samples]
>>> module = InverterModule(config)
>>> tf.saved_model.save(module, "inverter")           # signature: serving_default
>>> dataset.map(module.invert)                        # [n_mels, frames] -> [samples], or batched
"""

import tensorflow as tf

from tfspecinv import layout
from tfspecinv import pipeline

__all__ = ["SpectrogramInverter", "InverterModule", "invert"]


def invert(spectrogram, config, **engine):
  """Graph-mode inversion of `[..., features, frames]` (config layout) to `[..., samples]`.

  Args:
    spectrogram: float Tensor with the config's layout; leading axes are a batch.
    config: A `SpectrogramConfig`.
    **engine: `method` ('auto' by default: `pipeline.auto_recipe`), `gl_iters`,
      `lbfgs_iters`, `nnls_iters`, `domain`, `compression`, `momentum`, `seed`,
      `init` (see `pipeline.reconstruct_graph`).

  Returns:
    float Tensor `[..., samples]`.
  """
  values = layout.to_frames_bins(tf.convert_to_tensor(spectrogram), config)
  flat, batch_shape = layout.flatten_batch(values, 2)
  waveform = pipeline.reconstruct_graph(flat, config, **engine)
  return layout.unflatten_batch(waveform, batch_shape, 1)


def _keras():
  try:
    import keras  # pylint: disable=import-outside-toplevel
    return keras
  except ImportError:  # pragma: no cover
    import tf_keras  # pylint: disable=import-outside-toplevel
    return tf_keras


class SpectrogramInverter(_keras().layers.Layer):
  """Keras layer: spectrograms `[batch, features, frames]` -> waveforms `[batch, samples]`.

  Args:
    config: A `SpectrogramConfig` describing the input.
    method: 'auto' (default: `pipeline.auto_recipe` for the representation),
      'lbfgs' or 'griffin_lim'.
    gl_iters, lbfgs_iters: Iterations per stage; None for the recipe's.
    nnls_iters, domain, seed, init: As in `reconstruct_graph`.
  """

  def __init__(self, config, gl_iters=None, lbfgs_iters=None, nnls_iters=200, domain="auto",
               seed=0, init="auto", method="auto", **kwargs):
    kwargs.setdefault("trainable", False)
    kwargs.setdefault("autocast", False)
    kwargs.setdefault("dtype", "float32")
    super().__init__(**kwargs)
    self.config = config
    self.engine = dict(gl_iters=gl_iters, lbfgs_iters=lbfgs_iters, nnls_iters=nnls_iters,
                       domain=domain, seed=seed, init=init, method=method)

  def call(self, inputs):
    return invert(tf.cast(inputs, tf.float32), self.config, **self.engine)

  def compute_output_shape(self, input_shape):
    return (input_shape[0], None)


class InverterModule(tf.Module):
  """`tf.Module` whose `invert` is a serving signature over variable frame counts.

  `invert(spectrogram)` takes `[batch, features, frames]` (config layout, any
  batch and frame count) and returns `{"waveform": [batch, samples]}` when
  called through the SavedModel signature, the tensor itself from Python.
  """

  def __init__(self, config, name=None, **engine):
    super().__init__(name=name)
    self._config = config
    self._engine = engine
    features = config.n_features
    shape = [None, features, None] if config.layout == "bins_frames" else [None, None, features]
    self.invert = tf.function(self._invert, input_signature=[tf.TensorSpec(shape, tf.float32)])

  def _invert(self, spectrogram):
    return invert(spectrogram, self._config, **self._engine)

  def save(self, path):
    """Export with `serving_default` = `{"waveform": invert(spectrogram)}`."""
    serving = tf.function(lambda spectrogram: {"waveform": self.invert(spectrogram)},
                          input_signature=self.invert.input_signature)
    tf.saved_model.save(self, path, signatures={"serving_default": serving})

"""A picture of a reconstruction: target vs reconstructed spectrogram (dB) and the loss curve.

Needs matplotlib (`pip install -e ".[plot]"`); imported only when a plot is asked for.
"""

import numpy as np
import tensorflow as tf

from tfspecinv import layout
from tfspecinv import mel as mel_lib
from tfspecinv import scaling
from tfspecinv import transforms

__all__ = ["save_comparison"]


def _to_db(linear, power):
  floor = 1e-10 * max(float(np.max(linear)), 1e-30)
  return (10.0 if power == 2 else 20.0) * np.log10(np.maximum(linear, floor))


def _frequency_axis(config):
  if config.representation == "stft":
    return np.linspace(0.0, config.sample_rate / 2.0, config.n_bins), "frequency (Hz)"
  if config.representation == "mel":
    edges = mel_lib.mel_to_hz(np.linspace(mel_lib.hz_to_mel(config.fmin, config.mel_scale),
                                          mel_lib.hz_to_mel(config.fmax, config.mel_scale),
                                          config.n_mels + 2), config.mel_scale)
    return edges[1:-1], "mel band centre (Hz)"
  return np.arange(config.n_mfcc), "MFCC coefficient"


def _display(values, config):
  """`[features, frames]` in dB (linear-domain inputs) or as is (MFCC)."""
  values = layout.to_frames_bins(tf.constant(values, tf.float32), config)
  if config.representation == "mfcc":
    return tf.linalg.matrix_transpose(values).numpy()
  linear = scaling.unscale_amplitude(values, config, feature_axis=-1).numpy()
  return _to_db(linear, config.power).T


def save_comparison(path, target, waveform, config, result):
  """Write a PNG: target and reconstruction side by side (axes in Hz and s), loss curve.

  Args:
    path: Output PNG path.
    target: The given representation `[features, frames]` (config layout).
    waveform: Reconstructed samples `[samples]`.
    config: The `SpectrogramConfig`.
    result: The `ReconstructionResult`.
  """
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  rebuilt = transforms.forward(tf.constant(waveform, tf.float32), config).numpy()
  panels = [("target", _display(target, config)), ("reconstruction", _display(rebuilt, config))]
  freqs, label = _frequency_axis(config)
  figure, axes = plt.subplots(1, 3, figsize=(15, 4), gridspec_kw={"width_ratios": [4, 4, 3]})
  vmax = max(p.max() for _, p in panels)
  vmin = vmax - 80.0 if config.representation != "mfcc" else min(p.min() for _, p in panels)
  for axis, (title, values) in zip(axes, panels):
    times = np.arange(values.shape[1]) * config.hop_length / config.sample_rate
    mesh = axis.pcolormesh(times, freqs[:values.shape[0]], values, shading="auto", vmin=vmin,
                           vmax=vmax, cmap="magma")
    axis.set_title(title)
    axis.set_xlabel("time (s)")
    axis.set_ylabel(label)
  figure.colorbar(mesh, ax=axes[1], label="dB" if config.representation != "mfcc" else "value")
  lbfgs = [(i, l) for stage, i, l in result.loss_history if stage == "lbfgs"]
  gl = [(i, l) for stage, i, l in result.loss_history if stage == "griffin_lim"]
  if gl:
    axes[2].semilogy(*zip(*gl), label="Griffin-Lim (spectral convergence)")
  if lbfgs:
    offset = result.gl_iterations
    axes[2].semilogy([offset + i for i, _ in lbfgs], [l for _, l in lbfgs],
                     label=f"L-BFGS ({result.domain} loss)")
  axes[2].set_xlabel("iteration")
  axes[2].set_title("loss")
  axes[2].legend(fontsize=8)
  figure.tight_layout()
  figure.savefig(path, format="png", dpi=80)
  plt.close(figure)

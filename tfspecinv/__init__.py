"""tfspecinv: spectrograms back to audio with TensorFlow 2.

Public names are imported on first use, so `import tfspecinv` (and the command
line's usage errors) do not pay for importing TensorFlow.
"""

import importlib
import importlib.util

__version__ = "0.1.0"

_EXPORTS = {
    "SpectrogramConfig": "config",
    "SpecInvError": "errors",
    "mel_filterbank": "mel", "mel_to_linear_nnls": "mel", "mel_to_linear_pinv": "mel",
    "mfcc_from_scaled_mel": "mfcc",
    "scale_amplitude": "scaling", "unscale_amplitude": "scaling",
    "CompiledTransforms": "transforms", "compiled": "transforms", "forward": "transforms",
    "istft": "transforms", "linear_to_mel": "transforms", "spectrogram": "transforms",
    "stft": "transforms",
    "griffin_lim": "phase",
    "log_spectral_distance": "losses", "spectral_convergence": "losses",
    "spectral_convergence_db": "losses",
    "Progress": "pipeline", "ReconstructionResult": "pipeline", "reconstruct": "pipeline",
    "auto_recipe": "pipeline", "fit_db": "pipeline",
    "reconstruct_long": "longform", "LongResult": "longform",
    "StreamingInverter": "streaming", "StreamingModule": "streaming",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
  """Public names and submodules (`tfspecinv.conventions.make(...)`), imported on first use."""
  if name in _EXPORTS:
    value = getattr(importlib.import_module(f"tfspecinv.{_EXPORTS[name]}"), name)
  elif not name.startswith("_") and importlib.util.find_spec(f"tfspecinv.{name}") is not None:
    value = importlib.import_module(f"tfspecinv.{name}")
  else:
    raise AttributeError(f"module 'tfspecinv' has no attribute {name!r}")
  globals()[name] = value
  return value


def __dir__():
  return sorted(list(globals()) + __all__)

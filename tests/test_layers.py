"""Inversion inside TensorFlow: Keras layer, SavedModel without tfspecinv, tf.data, MirroredStrategy."""

import os
import subprocess
import sys
import textwrap

import librosa
import numpy as np
import pytest
import tensorflow as tf

import tfspecinv
from tfspecinv import layers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "samples", "speech_female_ljspeech.wav")
CONFIG = tfspecinv.SpectrogramConfig.librosa(sample_rate=22050, n_fft=256, hop_length=64,
                                             n_mels=32, fmax=8000.0, representation="mel")
ENGINE = dict(gl_iters=8, lbfgs_iters=10, nnls_iters=20)


def _mels(frames_list):
  y, _ = librosa.load(SAMPLE, sr=22050)
  out, start = [], 0
  for frames in frames_list:
    n = CONFIG.num_samples(frames)
    out.append(librosa.feature.melspectrogram(y=y[start:start + n], sr=22050, n_fft=256,
                                              hop_length=64, n_mels=32, fmax=8000)
               .astype(np.float32))
    start += n
  return out


@pytest.fixture(scope="module")
def module():
  return layers.InverterModule(CONFIG, **ENGINE)


def _sc_db(waveform, mel):
  rebuilt = librosa.feature.melspectrogram(y=waveform.astype(np.float64), sr=22050, n_fft=256,
                                           hop_length=64, n_mels=32, fmax=8000)
  return 20 * np.log10(np.linalg.norm(rebuilt - mel) / np.linalg.norm(mel))


def test_keras_layer_in_a_model():
  import keras  # pylint: disable=import-outside-toplevel
  mels = np.stack(_mels([60, 60, 60]))
  model = keras.Sequential([keras.Input(shape=(32, None)), layers.SpectrogramInverter(CONFIG,
                                                                                      **ENGINE)])
  waveforms = model.predict(mels, batch_size=3, verbose=0)
  assert waveforms.shape == (3, CONFIG.num_samples(60))
  _, api = tfspecinv.reconstruct(mels, CONFIG, **ENGINE)
  for waveform, mel, api_db in zip(waveforms, mels, api.spectral_convergence_db):
    # The graph pipeline does what the Python API does with the same settings.
    assert abs(_sc_db(waveform, mel) - api_db) < 1.0
    assert _sc_db(waveform, mel) < -10.0


def test_module_matches_reconstruct_settings(module):
  mel = _mels([50])[0]
  ours = module.invert(mel[None]).numpy()[0]
  assert ours.shape == (CONFIG.num_samples(50),)
  waveform, _ = tfspecinv.reconstruct(mel, CONFIG, **ENGINE)
  np.testing.assert_allclose(ours, waveform, atol=2e-2 * np.abs(waveform).max())


def test_tf_data_pipeline(module):
  mels = _mels([40, 40, 40, 40])
  dataset = tf.data.Dataset.from_tensor_slices(np.stack(mels)).batch(2).map(module.invert)
  batches = [b.numpy() for b in dataset]
  assert [b.shape for b in batches] == [(2, CONFIG.num_samples(40))] * 2
  direct = module.invert(np.stack(mels[:2])).numpy()
  # tf.data runs the graph on its own thread pool, so float32 kernels may reduce in another
  # order; 10 L-BFGS iterations amplify that last-bit rounding (measured 1.9e-5 of full scale).
  np.testing.assert_allclose(batches[0], direct, atol=1e-4 * np.abs(direct).max())


def test_saved_model_runs_without_tfspecinv(tmp_path, module):
  export = str(tmp_path / "inverter")
  module.save(export)
  inputs = {f"m{frames}": np.stack(_mels([frames, frames])) for frames in (30, 45)}
  np.savez(tmp_path / "inputs.npz", **inputs)
  expected = {k: module.invert(v).numpy() for k, v in inputs.items()}
  script = textwrap.dedent(f"""
      import sys
      sys.modules["tfspecinv"] = None              # tfspecinv cannot be imported here,
      sys.modules["tensorflow_probability"] = None  # nor TensorFlow Probability.
      import numpy as np, tensorflow as tf
      loaded = tf.saved_model.load({export!r})
      serve = loaded.signatures["serving_default"]
      inputs = np.load({str(tmp_path / "inputs.npz")!r})
      np.savez({str(tmp_path / "outputs.npz")!r},
               **{{k: serve(spectrogram=tf.constant(inputs[k]))["waveform"].numpy()
                  for k in inputs.files}})
  """)
  process = subprocess.run([sys.executable, "-c", script], cwd=str(tmp_path), capture_output=True,
                           text=True, timeout=300)
  assert process.returncode == 0, process.stderr[-2000:]
  outputs = np.load(tmp_path / "outputs.npz")
  for key, want in expected.items():
    np.testing.assert_allclose(outputs[key], want, atol=1e-5 * np.abs(want).max())


def test_mirrored_strategy_on_two_logical_cpus_matches_one_device(tmp_path):
  mels = np.stack(_mels([40, 40, 40, 40]))
  np.save(tmp_path / "mels.npy", mels)
  script = textwrap.dedent(f"""
      import numpy as np, tensorflow as tf
      cpu = tf.config.list_physical_devices("CPU")[0]
      tf.config.set_logical_device_configuration(
          cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
      import tfspecinv
      from tfspecinv import layers
      config = tfspecinv.SpectrogramConfig.librosa(sample_rate=22050, n_fft=256, hop_length=64,
                                                   n_mels=32, fmax=8000.0, representation="mel")
      module = layers.InverterModule(config, **{ENGINE!r})
      mels = np.load({str(tmp_path / "mels.npy")!r})
      single = module.invert(mels).numpy()
      strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
      assert strategy.num_replicas_in_sync == 2
      dataset = strategy.experimental_distribute_dataset(
          tf.data.Dataset.from_tensor_slices(mels).batch(4))
      step = tf.function(lambda batch: strategy.run(lambda b: module.invert(b), args=(batch,)))
      parts = []
      for batch in dataset:
        result = step(batch)
        parts.extend(t.numpy() for t in strategy.experimental_local_results(result))
      mirrored = np.concatenate(parts)
      # Each replica inverts 2 of the 4 examples: batched kernels round differently at the
      # last float32 bit, which 10 L-BFGS iterations amplify to ~1e-4 of full scale.
      np.testing.assert_allclose(mirrored, single, atol=1e-3 * np.abs(single).max())
      print("replicas", strategy.num_replicas_in_sync, "ok")
  """)
  process = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
  assert process.returncode == 0, process.stderr[-1500:]
  assert "replicas 2 ok" in process.stdout

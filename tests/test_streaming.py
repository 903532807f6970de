"""tfspecinv.streaming: frames in, samples out, against librosa's STFT (independent reference)."""

import os
import pickle
import signal
import subprocess
import sys
import time

import librosa
import numpy as np
import pytest
import soundfile
import tensorflow as tf

import tfspecinv
from tfspecinv import streaming

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "samples", "speech_female_ljspeech.wav")
MAIN = os.path.join(ROOT, "main.py")
SR, N_FFT, HOP = 22050, 1024, 256


@pytest.fixture(scope="module")
def speech():
  y, _ = librosa.load(SAMPLE, sr=SR)
  return y[SR // 2:SR // 2 + SR].astype(np.float32)      # 1 s


def _mel_config(**kw):
  return tfspecinv.SpectrogramConfig.librosa(sample_rate=SR, n_fft=N_FFT, hop_length=HOP,
                                             n_mels=80, fmax=8000.0, representation="mel", **kw)


def _librosa_mel(y):
  return librosa.feature.melspectrogram(y=y, sr=SR, n_fft=N_FFT, hop_length=HOP, n_mels=80,
                                        fmax=8000, power=2.0).astype(np.float32)


def _stream(inverter, frames, chunk, axis=-1):
  count = frames.shape[axis]
  pieces = [inverter.push(np.take(frames, range(s, min(s + chunk, count)), axis=axis))
            for s in range(0, count, chunk)]
  return np.concatenate(pieces + [inverter.flush()], axis=-1)


def test_linear_magnitudes_one_frame_per_push(speech):
  """Output length is the offline length; SC against librosa.stft's magnitudes."""
  config = tfspecinv.SpectrogramConfig.librosa(sample_rate=SR, n_fft=N_FFT, hop_length=HOP,
                                               power=1.0)
  target = np.abs(librosa.stft(speech, n_fft=N_FFT, hop_length=HOP))
  inverter = tfspecinv.StreamingInverter(config)
  out = _stream(inverter, target.astype(np.float32), 1)
  assert out.shape == (config.num_samples(target.shape[1]),)
  out = np.pad(out, (0, len(speech) - len(out)))
  rebuilt = np.abs(librosa.stft(out, n_fft=N_FFT, hop_length=HOP))
  sc_db = 20 * np.log10(np.linalg.norm(rebuilt - target) / np.linalg.norm(target))
  assert sc_db < -18, sc_db      # bench: median -2x dB on the corpus (3 s clips)
  assert inverter.latency_samples == N_FFT + 2 * HOP   # n_fft + (lookahead - 1) hops


def test_chunking_gives_the_same_samples(speech):
  mel = _librosa_mel(speech)
  outs = [_stream(tfspecinv.StreamingInverter(_mel_config()), mel, chunk) for chunk in (1, 7, 64)]
  peak = np.abs(outs[0]).max()
  assert peak > 1e-3
  for out in outs[1:]:
    assert out.shape == outs[0].shape
    np.testing.assert_allclose(out, outs[0], atol=1e-4 * peak)


@pytest.mark.parametrize("name,overrides", [
    ("librosa", dict(representation="mel", n_fft=1024, hop_length=256, n_mels=80, scale="db")),
    ("librosa", dict(representation="mfcc", n_fft=1024, hop_length=256, n_mfcc=40, scale="db")),
    ("tf_signal", dict(representation="mel")),
    ("hifigan", {}),
    ("whisper", {}),
])
def test_every_representation_has_the_offline_length(speech, name, overrides):
  config = tfspecinv.conventions.make(name, **overrides)
  y = librosa.resample(speech, orig_sr=SR, target_sr=config.sample_rate)
  values = tfspecinv.forward(y, config).numpy()
  axis = -1 if config.layout == "bins_frames" else 0
  frames = values.shape[axis]
  out = _stream(tfspecinv.StreamingInverter(config), values, 5, axis=axis)
  assert out.shape == (config.num_samples(frames),)
  assert np.all(np.isfinite(out)) and np.abs(out).max() > 1e-3
  # The streamed audio is close to the input's spectrum (log-spectral distance, librosa STFT).
  n = min(len(out), len(y))
  a = np.abs(librosa.stft(out[:n], n_fft=config.n_fft, hop_length=config.hop_length))
  b = np.abs(librosa.stft(y[:n], n_fft=config.n_fft, hop_length=config.hop_length))
  if config.scale in ("db", "linear"):  # absolute level kept: compare as is
    a, b = a / b.max(), b / b.max()
  else:
    a, b = a / a.max(), b / b.max()
  lsd = _lsd(a, b)
  bound = 12.0
  if config.representation == "mfcc":  # MFCCs lose detail: compare with librosa's own inverse
    mfcc = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=40, n_fft=1024, hop_length=256)
    np.testing.assert_allclose(values, mfcc, atol=1e-2 * np.abs(mfcc).max())
    offline = librosa.feature.inverse.mfcc_to_audio(mfcc, sr=SR, n_fft=1024, hop_length=256)
    c = np.abs(librosa.stft(offline[:n], n_fft=1024, hop_length=256))
    bound = _lsd(c / c.max(), b) + 2.0
  assert lsd < bound, (lsd, bound)


def _lsd(a, b):
  """Mean log-spectral distance (dB) of two normalised magnitude arrays."""
  return np.mean(np.sqrt(np.mean((10 * np.log10(a ** 2 + 1e-8) -
                                  10 * np.log10(b ** 2 + 1e-8)) ** 2, axis=0)))


def _mel_sc_db(out, mel):
  rebuilt = _librosa_mel(out)
  return 20 * np.log10(np.linalg.norm(rebuilt - mel) / np.linalg.norm(mel))


def test_batch_advances_together(speech):
  """Each stream of a batch fits as well as the same stream alone.

  Not bit-equal: float sums in a batch of 2 round differently from a batch of
  1, and the phase retrieval does not damp such differences (identical
  streams in one batch are bit-equal).
  """
  mel = _librosa_mel(speech)
  pair = np.stack([mel, mel[:, ::-1].copy(), mel])
  batched = _stream(tfspecinv.StreamingInverter(_mel_config(), batch=3), pair, 3)
  np.testing.assert_array_equal(batched[0], batched[2])
  for index in range(2):
    single = _stream(tfspecinv.StreamingInverter(_mel_config()), pair[index], 3)
    assert batched[index].shape == single.shape
    assert abs(_mel_sc_db(batched[index], pair[index]) - _mel_sc_db(single, pair[index])) < 1.0


def test_state_round_trip_equals_uninterrupted(speech):
  mel = _librosa_mel(speech)
  whole = _stream(tfspecinv.StreamingInverter(_mel_config()), mel, 4)
  first = tfspecinv.StreamingInverter(_mel_config())
  head = [first.push(mel[:, s:s + 4]) for s in range(0, 40, 4)]
  state = pickle.loads(pickle.dumps(first.get_state()))
  second = tfspecinv.StreamingInverter(_mel_config(), state=state)
  tail = _stream(second, mel[:, 40:], 4)
  np.testing.assert_allclose(np.concatenate(head + [tail]), whole, atol=1e-5)


def test_bad_frames_raise_and_leave_the_state_unchanged(speech):
  mel = _librosa_mel(speech)
  whole = _stream(tfspecinv.StreamingInverter(_mel_config()), mel, 1)
  inverter = tfspecinv.StreamingInverter(_mel_config())
  pieces = [inverter.push(mel[:, t:t + 1]) for t in range(10)]
  before = inverter.get_state()
  bad_nan, bad_inf = mel[:, 10:12].copy(), mel[:, 10:12].copy()
  bad_nan[3, 0], bad_inf[5, 1] = np.nan, np.inf
  with pytest.raises(tfspecinv.SpecInvError, match="79 features.*80"):
    inverter.push(mel[:79, 10:11])
  with pytest.raises(tfspecinv.SpecInvError, match="1 NaN"):
    inverter.push(bad_nan)
  with pytest.raises(tfspecinv.SpecInvError, match="1 infinite"):
    inverter.push(bad_inf)
  after = inverter.get_state()
  for name in streaming.STATE_NAMES:
    np.testing.assert_array_equal(before[name], after[name])
  pieces += [inverter.push(mel[:, t:t + 1]) for t in range(10, mel.shape[1])]
  pieces.append(inverter.flush())
  np.testing.assert_allclose(np.concatenate(pieces), whole, atol=1e-5)
  with pytest.raises(tfspecinv.SpecInvError, match="push after flush"):
    inverter.push(mel[:, :1])


def test_bad_settings():
  with pytest.raises(tfspecinv.SpecInvError, match="lookahead"):
    streaming.StreamingModule(_mel_config(), lookahead=-1)
  with pytest.raises(tfspecinv.SpecInvError, match="bell-shaped"):
    streaming.StreamingModule(_mel_config(window="ones"))


def test_savedmodel_reload_gives_the_same_samples(speech, tmp_path):
  mel = _librosa_mel(speech)
  module = streaming.StreamingModule(_mel_config())
  frames = tf.constant(mel.T[None])
  present = tf.ones([mel.shape[1]])
  expected = module.step(frames, present, *module.initial_state(tf.constant(1)))[-1]
  tf.saved_model.save(module, str(tmp_path / "stream"))
  loaded = tf.saved_model.load(str(tmp_path / "stream"))
  state = loaded.initial_state(tf.constant(1))
  half = mel.shape[1] // 2
  first = loaded.step(frames[:, :half], present[:half], *state)
  second = loaded.step(frames[:, half:], present[half:], *first[:-1])
  got = np.concatenate([first[-1], second[-1]], axis=-1)
  np.testing.assert_allclose(got, expected.numpy(), atol=1e-5)
  # And the inverter around the loaded module streams the same samples.
  inverter = tfspecinv.StreamingInverter(_mel_config())
  reloaded = tfspecinv.StreamingInverter(_mel_config(), module=_Wrapped(loaded, module))
  np.testing.assert_allclose(_stream(reloaded, mel, 7), _stream(inverter, mel, 7), atol=1e-5)


class _Wrapped:
  """A loaded SavedModel with the Python-side sizes of the module it came from."""

  def __init__(self, loaded, module):
    self.step, self.initial_state = loaded.step, loaded.initial_state
    self.lookahead, self.state_specs = module.lookahead, module.state_specs


def test_example_pipe_stdin_to_pcm(speech):
  mel = _librosa_mel(speech)
  process = subprocess.run(
      [sys.executable, os.path.join(ROOT, "examples", "stream_stdin.py"), "--n_mels=80",
       "--fmax=8000", "--chunk=3"], input=mel.T.astype(np.float32).tobytes(),
      capture_output=True, timeout=300, cwd=ROOT)
  assert process.returncode == 0, process.stderr.decode()
  pcm = np.frombuffer(process.stdout, "<i2")
  assert len(pcm) == _mel_config().num_samples(mel.shape[1])
  expected = _stream(tfspecinv.StreamingInverter(_mel_config()), mel, 3)
  np.testing.assert_allclose(pcm / 32767.0, np.clip(expected, -1, 1), atol=2e-4)


def test_cli_stream_writes_and_reports(tmp_path):
  out = tmp_path / "o.wav"
  process = subprocess.run([sys.executable, MAIN, f"--input={SAMPLE}", f"--output={out}",
                            "--stream", "--stream_chunk=4"], cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
  assert process.returncode == 0, process.stderr
  samples, sr = soundfile.read(out)
  assert sr == 22050 and len(samples) == soundfile.info(SAMPLE).frames
  assert 0.05 < np.abs(samples).max() <= 1.0
  assert "latency" in process.stderr and "real-time factor" in process.stderr


def test_cli_stream_ctrl_c_writes_what_was_produced(tmp_path):
  y, _ = librosa.load(SAMPLE, sr=SR)
  mel = _librosa_mel(np.tile(y, 12))   # about a minute: still streaming when interrupted
  path, out = tmp_path / "M.npy", tmp_path / "o.wav"
  np.save(path, mel)
  process = subprocess.Popen(
      [sys.executable, MAIN, f"--input={path}", f"--output={out}", "--stream",
       "--representation=mel", "--n_fft=1024", "--hop_length=256", "--n_mels=80",
       "--fmax=8000", "--sample_rate=22050"],
      cwd=ROOT, stderr=subprocess.PIPE, text=True,
      preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
  seen = []
  for line in process.stderr:
    seen.append(line)
    if "streaming" in line:
      break
  time.sleep(3)   # some pushes done
  process.send_signal(signal.SIGINT)
  stderr = "".join(seen) + process.communicate(timeout=120)[1]
  assert process.returncode == 130, stderr
  assert "interrupted" in stderr and "Traceback" not in stderr
  samples, _ = soundfile.read(out)
  assert 0 < len(samples) < _mel_config().num_samples(mel.shape[1])
  assert np.all(np.isfinite(samples))

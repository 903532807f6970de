"""Long audio in blocks (`tfspecinv.longform`): geometry, joins, bounded streaming, errors."""

import numpy as np
import pytest
import soundfile
import tensorflow as tf

from tfspecinv import SpecInvError, SpectrogramConfig
from tfspecinv import longform
from tfspecinv import transforms

SR = 22050


def _mel_config(**overrides):
  return SpectrogramConfig.librosa(sample_rate=SR, n_fft=1024, hop_length=256, n_mels=80,
                                   fmax=8000.0, representation="mel", **overrides)


def _frames(values, config):
  return values.shape[-1] if config.layout == "bins_frames" else values.shape[-2]


CONVENTIONS = {
    "librosa_zero_pad": lambda: SpectrogramConfig.librosa(sample_rate=SR, n_fft=512,
                                                          hop_length=128),
    "torchaudio_reflect": lambda: SpectrogramConfig.torchaudio(sample_rate=SR, n_fft=512,
                                                               hop_length=128),
    "edge_pad": lambda: SpectrogramConfig.librosa(sample_rate=SR, n_fft=512, hop_length=128,
                                                  pad_mode="edge"),
    "tf_signal_uncentred": lambda: SpectrogramConfig.tf_signal(sample_rate=SR, n_fft=512,
                                                               win_length=400, hop_length=160),
}


@pytest.mark.parametrize("convention", sorted(CONVENTIONS))
@pytest.mark.parametrize("block_frames", [8, 40])
def test_blocks_tile_the_signal_and_segments_reproduce_its_frames(convention, block_frames,
                                                                   speech):
  """Each block's segment, padded only at true signal edges, gives exactly the full STFT's frames."""
  config = CONVENTIONS[convention]()
  signal = speech[0][:9000]
  full = transforms.spectrogram(tf.constant(signal), config).numpy()
  full = full.T if config.layout == "bins_frames" else full  # [frames, bins]
  plans = longform.plan_blocks(full.shape[0], len(signal), config, block_frames, 3)
  assert plans[0].commit_start == 0 and plans[-1].commit_end == len(signal)
  assert all(a.commit_end == b.commit_start for a, b in zip(plans, plans[1:]))
  solver = longform._solver(config, tf.float64, "linear", 0.5)
  for plan in plans:
    start, stop, pads = longform._segment_geometry(plan, config, len(signal))
    assert start <= plan.commit_start and (stop >= plan.commit_end or plan.end_frame == len(full))
    padded = solver.pad_edges(tf.constant(signal[None, start:stop]), tf.constant(pads))
    segment = solver.problem.linear_forward(padded)[0].numpy()
    np.testing.assert_allclose(segment, full[plan.first_frame:plan.end_frame], rtol=0,
                               atol=1e-9 * np.abs(full).max())


def _stationary_signal(seconds, seed=0):
  """Harmonic tones with vibrato plus noise: the same statistics everywhere, so no frame is
  harder than another except through the joins."""
  rng = np.random.default_rng(seed)
  t = np.arange(int(seconds * SR)) / SR
  signal = 0.01 * rng.standard_normal(t.shape)
  for k, f0 in enumerate([196.0, 311.0, 440.0]):
    phase = 2 * np.pi * f0 * t + 3.0 * np.sin(2 * np.pi * (1.3 + k) * t)
    for h in range(1, 6):
      signal += 0.1 / h * np.sin(h * phase + k)
  return signal


@pytest.fixture(scope="module")
def joined():
  """A 4 s mel input reconstructed in blocks of 32 frames (10 joins)."""
  config = _mel_config()
  signal = _stationary_signal(4.0)
  mel = transforms.forward(tf.constant(signal, tf.float32), config).numpy()
  chunks = []
  _, result = longform.reconstruct_long(mel, config, block_frames=32, lookahead_frames=32,
                                        lbfgs_iters=100, length=len(signal), sink=chunks.append)
  return config, mel, chunks, result


def test_joins_do_not_click(joined):
  """Frames within a window of a join fit no worse than 1 dB from the others (issue 5)."""
  config, mel, chunks, result = joined
  waveform = np.concatenate(chunks)
  estimate = transforms.forward(tf.constant(waveform), config).numpy()
  error = np.sum((estimate - mel) ** 2, axis=0)
  energy = np.sum(mel ** 2, axis=0)
  near = np.zeros(mel.shape[1], bool)
  reach = config.frame_span // config.hop_length + 1
  for join in result.joins:
    frame = join // config.hop_length
    near[max(frame - reach, 0):frame + reach + 1] = True
  sc = lambda mask: 10 * np.log10(error[mask].sum() / energy[mask].sum())
  assert len(result.joins) >= 8
  assert sc(near) <= sc(~near) + 1.0, (sc(near), sc(~near))
  assert 10 * np.log10(error.sum() / energy.sum()) < -25  # One piece: -28.2 dB.
  # The streamed running figure is the same quantity.
  assert result.spectral_convergence_db == pytest.approx(
      10 * np.log10(error.sum() / energy.sum()), abs=0.5)


def test_sink_gets_consecutive_blocks(joined):
  config, mel, chunks, result = joined
  assert len(chunks) == result.blocks == result.blocks_done
  assert [len(c) for c in chunks[:-1]] == [32 * config.hop_length] * (len(chunks) - 1)
  assert result.samples_written == sum(len(c) for c in chunks) == int(4.0 * SR)  # length=
  assert result.joins == list(np.cumsum([len(c) for c in chunks[:-1]]))


def test_ten_minute_input_streams_from_a_memory_map_to_a_file(tmp_path, speech):
  """10 minutes of mel frames (a speech clip repeated) read lazily and written as they finish."""
  config = _mel_config()
  mel = transforms.forward(tf.constant(speech[0], tf.float32), config).numpy()
  frames_needed = config.num_frames(10 * 60 * SR)
  tiled = np.tile(mel, (1, -(-frames_needed // mel.shape[1])))[:, :frames_needed]
  np.save(tmp_path / "long.npy", tiled)
  lazy = np.load(tmp_path / "long.npy", mmap_mode="r")
  length = config.num_samples(frames_needed)
  seen = []
  with soundfile.SoundFile(tmp_path / "out.wav", "w", SR, 1, subtype="FLOAT") as out:
    _, result = longform.reconstruct_long(lazy, config, sink=out.write, gl_iters=2,
                                          lbfgs_iters=2, nnls_iters=10, progress=seen.append)
  written, rate = soundfile.read(tmp_path / "out.wav", dtype="float32")
  assert rate == SR and len(written) == length == result.samples_written
  assert np.isfinite(written).all() and np.abs(written).max() > 0
  assert result.blocks == result.blocks_done == len(seen) >= 20
  assert [p.iteration for p in seen] == list(range(1, result.blocks + 1))
  assert seen[-1].remaining == 0 and all(p.remaining >= 0 for p in seen)
  assert np.isfinite(result.spectral_convergence_db)


def test_interrupt_keeps_the_finished_blocks():
  config = _mel_config()
  mel = transforms.forward(tf.constant(_stationary_signal(2.0), tf.float32), config).numpy()
  written = []

  def sink(chunk):
    if written:
      raise KeyboardInterrupt
    written.append(chunk)

  _, result = longform.reconstruct_long(mel, config, block_frames=48, lbfgs_iters=5, sink=sink)
  assert result.stop_reason == "interrupted" and result.blocks_done == 1
  assert result.samples_written == len(written[0]) == 48 * config.hop_length


def test_silent_blocks_give_silence():
  config = _mel_config()
  signal = _stationary_signal(2.0)
  signal[: SR] = 0.0
  mel = transforms.forward(tf.constant(signal, tf.float32), config).numpy()
  waveform, _ = longform.reconstruct_long(mel, config, block_frames=16, lbfgs_iters=5,
                                          length=len(signal))
  assert np.isfinite(waveform).all()
  assert np.abs(waveform[: SR // 2]).max() < 1e-3 * np.abs(waveform).max()


@pytest.mark.parametrize("bad, kwargs, words", [
    (np.ones((2, 2, 80, 100), np.float32), {}, "reconstruct for batches"),
    (np.ones((80, 100), np.float32), {"block_frames": 2}, "block_frames=2 is too small"),
    (np.ones((64, 100), np.float32), {}, "set n_mels=64"),
    (np.where(np.arange(100) == 70, np.nan, 1.0) * np.ones((80, 1)), {"block_frames": 16},
     "NaN"),
    (np.ones((80, 100), np.float32), {"domain": "cepstral"}, "domain='cepstral'"),
])
def test_bad_input_is_a_clear_error(bad, kwargs, words):
  with pytest.raises(SpecInvError, match=words):
    longform.reconstruct_long(bad, _mel_config(), lbfgs_iters=1, **kwargs)


@pytest.mark.parametrize("name", ["mfcc_librosa", "mel_tf_signal_frames_bins"])
def test_other_representations_and_layouts(name, speech):
  """Block mode goes through the same forward model: MFCCs (native loss) and tf.signal's layout."""
  config = {
      "mfcc_librosa": SpectrogramConfig.librosa(
          sample_rate=SR, n_fft=1024, hop_length=256, n_mels=128, n_mfcc=40,
          representation="mfcc", scale="db"),
      "mel_tf_signal_frames_bins": SpectrogramConfig.tf_signal(
          sample_rate=SR, n_fft=1024, win_length=1024, hop_length=256, n_mels=80, fmax=8000.0,
          representation="mel"),
  }[name]
  values = transforms.forward(tf.constant(speech[0], tf.float32), config).numpy()
  waveform, result = longform.reconstruct_long(values, config, block_frames=48, lbfgs_iters=20)
  assert waveform.shape == (config.num_samples(_frames(values, config)),)
  assert np.isfinite(waveform).all() and result.blocks >= 3
  estimate = transforms.forward(tf.constant(waveform), config).numpy()
  sc = 20 * np.log10(np.linalg.norm(estimate - values) / np.linalg.norm(values))
  assert sc < -20, sc
  assert result.spectral_convergence_db == pytest.approx(sc, abs=1.0)

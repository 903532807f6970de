"""Channels and sample formats: a round trip keeps what the user gave and says what it changed.

Covers tfspecinv.io (read_audio, audio_format, write_audio, streamed_audio with
channels), tfspecinv.jobs (load_item's format, load_items, check_array_item),
tfspecinv.longform (a leading channel axis), and main.py / tfspecinv.beam as a
user runs them. Fits are measured by librosa in float64
(`librosa.feature.melspectrogram`, librosa/feature/spectral.py), never by the
code under test.
"""

import json
import os
import subprocess
import sys

import librosa
import numpy as np
import pytest
import soundfile

from tfspecinv import io as io_lib
from tfspecinv import jobs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "samples", "speech_female_ljspeech.wav")
MAIN = os.path.join(ROOT, "main.py")
FEW = ("--gl_iters=16", "--lbfgs_iters=40")
MEL22 = ("--sample_rate=22050", "--n_fft=1024", "--hop_length=256", "--n_mels=80",
         "--fmax=8000")


def _run(*args, module=None, timeout=600):
  command = [sys.executable, *(["-m", module] if module else [MAIN]), *args]
  return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def _ok(process):
  assert process.returncode == 0, process.stderr
  assert "Traceback" not in process.stderr, process.stderr


def _mel48(y):
  """librosa's default mel (n_fft 2048, hop 512, 128 bands, power 2) at 48 kHz, float64."""
  return librosa.feature.melspectrogram(y=np.asarray(y, np.float64), sr=48000)


def _sc_db(y, target):
  estimate = _mel48(y)
  return 20 * np.log10(np.linalg.norm(estimate - target) / np.linalg.norm(target))


def _rms_db(y):
  return 10 * np.log10(np.mean(np.square(y)))


@pytest.fixture(scope="module")
def stereo(tmp_path_factory):
  """2 s, 48 kHz, PCM_24: the right channel a delayed (10 ms), 10 dB quieter copy of the left."""
  y, _ = librosa.load(SAMPLE, sr=48000, offset=0.3, duration=2.0)
  right = 10 ** (-10 / 20) * np.concatenate([np.zeros(480, np.float32), y[:-480]])
  folder = tmp_path_factory.mktemp("stereo")
  path = folder / "st.wav"
  soundfile.write(path, np.stack([y, right], axis=1), 48000, subtype="PCM_24")
  return path, soundfile.read(path, dtype="float64")[0].T


# ------------------------------------------------------------------- io
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_read_audio_keeps_channels_in_order_or_averages(tmp_path, channels):
  data = np.stack([np.full(100, 0.1 * (c + 1)) for c in range(channels)], axis=1)
  path = str(tmp_path / "c.wav")
  soundfile.write(path, data, 8000, subtype="FLOAT")
  kept, rate = io_lib.read_audio(path, mono=False)
  mono, _ = io_lib.read_audio(path)
  assert rate == 8000 and mono.shape == (100,)
  np.testing.assert_allclose(mono, data.mean(axis=1), atol=1e-7)
  assert kept.shape == ((100,) if channels == 1 else (channels, 100))
  np.testing.assert_allclose(np.atleast_2d(kept), data.T, atol=1e-7)
  assert io_lib.audio_format(path) == (channels, "FLOAT")


def test_write_audio_and_streamed_audio_take_channels(tmp_path):
  data = np.stack([np.linspace(-0.5, 0.5, 300), np.linspace(0.2, -0.2, 300)])
  io_lib.write_audio(str(tmp_path / "w.wav"), data, 8000, "PCM_24")
  with io_lib.streamed_audio(str(tmp_path / "s.wav"), 8000, "PCM_24", channels=2,
                             gain_for_peak=lambda peak: 0.25 / peak) as write:
    write(data[:, :100])
    write(data[:, 100:])
  written, _ = soundfile.read(tmp_path / "w.wav")
  streamed, _ = soundfile.read(tmp_path / "s.wav")
  np.testing.assert_allclose(written.T, data, atol=2e-7)
  np.testing.assert_allclose(streamed.T, data * 0.5, atol=2e-7)  # One gain for both channels.


# ----------------------------------------------------------------- jobs
@pytest.mark.parametrize("subtype,output,flag,expected,changed", [
    ("PCM_16", "o.wav", None, "PCM_16", False),
    ("PCM_24", "o.wav", None, "PCM_24", False),
    ("FLOAT", "o.wav", None, "FLOAT", False),
    ("PCM_32", "o.wav", None, "PCM_24", True),
    ("FLOAT", "o.flac", None, "PCM_24", True),
    ("PCM_24", "o.wav", "PCM_16", "PCM_16", True),
    ("PCM_16", "o.wav", "PCM_16", "PCM_16", False),
])
def test_round_trip_keeps_the_sample_format(tmp_path, subtype, output, flag, expected, changed):
  path = str(tmp_path / "in.wav")
  soundfile.write(path, 0.1 * np.sin(np.arange(4096) / 5.0), 16000, subtype=subtype)
  settings = jobs.JobSettings(
      overrides=(("representation", "stft"),), subtype=flag or "PCM_16",
      given=frozenset({"subtype"} if flag else set()))
  item = jobs.load_item(settings, path, str(tmp_path / output))
  assert item.subtype == expected
  assert bool(item.changes) == changed, item.changes
  if changed:
    assert f"{subtype} written as {expected}" in item.changes[0]
  assert jobs.item_settings(settings, item).subtype == expected


def test_arrays_leading_axes_are_items_unless_channels(tmp_path):
  mel = np.abs(np.random.default_rng(0).normal(size=(80, 20))).astype(np.float32)
  settings = jobs.JobSettings(overrides=(("representation", "mel"), ("n_mels", 80)),
                              given=frozenset({"n_mels"}), quiet=True)
  cases = {"one.npy": mel[None], "three.npy": np.stack([mel] * 3),
           "grid.npy": np.stack([np.stack([mel] * 2)] * 2)}
  for name, array in cases.items():
    np.save(tmp_path / name, array)
  out = str(tmp_path / "o.wav")
  one = jobs.load_items(settings, str(tmp_path / "one.npy"), out)
  assert [(i.output, i.spectrogram.shape) for i in one] == [(out, (80, 20))]
  three = jobs.load_items(settings, str(tmp_path / "three.npy"), out)
  assert [os.path.basename(i.output) for i in three] == [
      "o_00000.wav", "o_00001.wav", "o_00002.wav"]
  assert three[2].source.endswith("three.npy[2]")
  assert len(jobs.load_items(settings, str(tmp_path / "grid.npy"), out)) == 4
  channels = dataclass_replace(settings, channels=True)
  stereo = jobs.load_items(channels, str(tmp_path / "three.npy"), out)
  assert [(i.output, i.spectrogram.shape) for i in stereo] == [(out, (3, 80, 20))]
  grid = jobs.load_items(channels, str(tmp_path / "grid.npy"), out)
  assert [i.spectrogram.shape for i in grid] == [(2, 80, 20)] * 2
  record = jobs.Item("r.tfrecord[0]", out, spectrogram=mel[None], config=one[0].config)
  jobs.check_array_item(settings, record)  # A model's [1, bins, frames] record.
  assert record.spectrogram.shape == (80, 20)
  with pytest.raises(ValueError, match=r"r.tfrecord\[1\].*--channels"):
    jobs.check_array_item(settings, jobs.Item("r.tfrecord[1]", out, spectrogram=np.stack(
        [mel] * 2), config=one[0].config))


def dataclass_replace(settings, **changes):
  import dataclasses  # pylint: disable=import-outside-toplevel
  return dataclasses.replace(settings, **changes)


# ------------------------------------------------------------ block mode
def test_block_mode_solves_channels_as_each_alone():
  """reconstruct_long on [2, mels, frames] gives each channel what a mono call gives it."""
  import tfspecinv  # pylint: disable=import-outside-toplevel
  from tfspecinv import longform  # pylint: disable=import-outside-toplevel
  y, sr = librosa.load(SAMPLE, sr=22050, duration=2.0)
  st = np.stack([y, 0.3 * np.roll(y, 300)]).astype(np.float32)
  config = tfspecinv.SpectrogramConfig.librosa(sample_rate=sr, n_fft=1024, hop_length=256,
                                               n_mels=80, fmax=8000.0, representation="mel")
  mel = librosa.feature.melspectrogram(y=st, sr=sr, n_fft=1024, hop_length=256, n_mels=80,
                                       fmax=8000)
  chunks = []
  waveform, result = longform.reconstruct_long(mel, config, block_frames=64, gl_iters=8,
                                               lbfgs_iters=20)
  _, streamed = longform.reconstruct_long(mel, config, sink=chunks.append, block_frames=64,
                                          gl_iters=8, lbfgs_iters=20)
  assert waveform.shape == (2, st.shape[1] // 256 * 256) and result.blocks >= 2
  assert all(c.shape[0] == 2 for c in chunks)
  np.testing.assert_array_equal(np.concatenate(chunks, axis=1), waveform)
  assert result.spectral_convergence_db.shape == (2,)
  for channel in range(2):
    alone, mono = longform.reconstruct_long(mel[channel], config, block_frames=64, gl_iters=8,
                                            lbfgs_iters=20)
    assert alone.ndim == 1 and isinstance(mono.spectral_convergence_db, float)
    own = librosa.feature.melspectrogram(y=waveform[channel], sr=sr, n_fft=1024,
                                         hop_length=256, n_mels=80, fmax=8000)
    solo = librosa.feature.melspectrogram(y=alone, sr=sr, n_fft=1024, hop_length=256,
                                          n_mels=80, fmax=8000)
    target = mel[channel][:, :own.shape[1]]
    fit = [20 * np.log10(np.linalg.norm(m - target) / np.linalg.norm(target))
           for m in (own, solo)]
    assert fit[0] < -20 and abs(fit[0] - fit[1]) <= 1.0, fit


# ------------------------------------------------------------- main.py
def test_stereo_pcm24_round_trip_keeps_channels_format_and_fit(tmp_path, stereo):
  path, data = stereo
  out, report = tmp_path / "out.wav", tmp_path / "r.json"
  process = _run(str(path), str(out), *FEW, f"--report={report}")
  _ok(process)
  info = soundfile.info(str(out))
  assert (info.channels, info.samplerate, info.subtype, info.frames) == (
      2, 48000, "PCM_24", data.shape[1])
  assert "note:" not in process.stderr  # Nothing changed, nothing to say.
  assert "x 2 channels" in process.stderr
  written = soundfile.read(out, dtype="float64")[0].T
  # The quieter right channel stays 10 dB quieter (one gain for both).
  ratio = _rms_db(written[1]) - _rms_db(written[0])
  assert abs(ratio - (_rms_db(data[1]) - _rms_db(data[0]))) < 0.5, ratio
  fits = []
  for channel in range(2):
    alone = tmp_path / f"in{channel}.wav"
    soundfile.write(alone, data[channel], 48000, subtype="PCM_24")
    mono_out = tmp_path / f"out{channel}.wav"
    _ok(_run(str(alone), str(mono_out), *FEW))
    target = _mel48(data[channel])
    fits.append((_sc_db(written[channel], target),
                 _sc_db(soundfile.read(mono_out, dtype="float64")[0], target)))
  for stereo_fit, mono_fit in fits:
    assert stereo_fit < -30 and abs(stereo_fit - mono_fit) <= 1.0, fits
  data_report = json.loads(report.read_text())
  assert data_report["channels"] == 2 and data_report["subtype"] == "PCM_24"
  assert data_report["changes"] == [] and len(data_report["quality"]["per_channel"]) == 2
  worst = max(c["spectral_convergence_db"] for c in data_report["quality"]["per_channel"])
  assert data_report["quality"]["spectral_convergence_db"] == worst


def test_six_channels_keep_their_order(tmp_path):
  y, _ = librosa.load(SAMPLE, sr=16000, duration=1.0)
  gains = [1.0, 0.5, 0.8, 0.25, 0.6, 0.4]
  data = np.stack([g * np.roll(y, 160 * c) for c, g in enumerate(gains)], axis=1)
  path, out = tmp_path / "six.wav", tmp_path / "out.wav"
  soundfile.write(path, data, 16000)
  _ok(_run(str(path), str(out), "--gl_iters=8", "--lbfgs_iters=20"))
  written, rate = soundfile.read(out)
  assert rate == 16000 and written.shape == data.shape
  assert soundfile.info(str(out)).subtype == "PCM_16"
  levels = [_rms_db(written[:, c]) - _rms_db(data[:, c]) for c in range(6)]
  assert max(levels) - min(levels) < 1.0, levels  # Each channel where it was, at its level.


def test_mono_flag_downmixes_and_says_so(tmp_path, stereo):
  path, data = stereo
  out, report = tmp_path / "m.wav", tmp_path / "m.json"
  process = _run(str(path), str(out), "--mono", "--subtype=PCM_16", "--gl_iters=4",
                 "--lbfgs_iters=5", f"--report={report}")
  _ok(process)
  info = soundfile.info(str(out))
  assert (info.channels, info.subtype, info.frames) == (1, "PCM_16", data.shape[1])
  notes = [line for line in process.stderr.splitlines() if line.startswith("note:")]
  assert notes == [f"note: {out}: 2 channels downmixed to mono (--mono); PCM_24 written as "
                   "PCM_16 (--subtype)."], process.stderr
  assert json.loads(report.read_text())["changes"] == [
      "2 channels downmixed to mono (--mono)", "PCM_24 written as PCM_16 (--subtype)"]


def test_readme_first_command_says_nothing_new(tmp_path):
  """A mono PCM_16 input: no note, a mono PCM_16 output."""
  out = tmp_path / "out.wav"
  process = _run(f"--input={SAMPLE}", f"--output={out}", "--overwrite", "--gl_iters=4",
                 "--lbfgs_iters=5")
  _ok(process)
  assert "note:" not in process.stderr and "warning" not in process.stderr
  info = soundfile.info(str(out))
  assert (info.channels, info.subtype) == (1, "PCM_16")


def test_block_mode_on_a_stereo_input(tmp_path, stereo):
  path, data = stereo
  out, report = tmp_path / "b.wav", tmp_path / "b.json"
  _ok(_run(str(path), str(out), "--block_frames=64", "--gl_iters=8", "--lbfgs_iters=20",
           f"--report={report}"))
  written = soundfile.read(out, dtype="float64")[0].T
  info = soundfile.info(str(out))
  assert (info.channels, info.subtype, info.frames) == (2, "PCM_24", data.shape[1])
  fits = [_sc_db(written[c], _mel48(data[c])) for c in range(2)]
  assert max(fits) < -20, fits
  result = json.loads(report.read_text())
  assert result["channels"] == 2 and len(result["spectral_convergence_db"]) == 2


def test_arrays_as_items_or_channels(tmp_path):
  y, _ = librosa.load(SAMPLE, sr=22050, duration=1.0)
  st = np.stack([y, 0.3 * np.roll(y, 100)])
  mel = librosa.feature.melspectrogram(y=st, sr=22050, n_fft=1024, hop_length=256, n_mels=80,
                                       fmax=8000)
  items, channels = tmp_path / "items", tmp_path / "channels"
  items.mkdir()
  channels.mkdir()
  np.save(items / "model.npy", mel[:1])             # [1, 80, T], as a PyTorch model saves it
  np.save(items / "batch.npy", np.concatenate([mel, mel[:1]]))   # [3, 80, T]
  np.save(channels / "stereo.npy", mel)             # [2, 80, T], librosa's multichannel mel
  np.save(channels / "two.npy", np.stack([mel, mel]))   # [2, 2, 80, T]
  out = tmp_path / "wavs"
  process = _run(str(items), str(out), *MEL22, "--gl_iters=4", "--lbfgs_iters=5")
  _ok(process)
  assert sorted(os.listdir(out)) == ["batch_00000.wav", "batch_00001.wav", "batch_00002.wav",
                                     "manifest.jsonl", "model.wav"]
  rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
  assert sorted((row["name"], os.path.basename(row["output"])) for row in rows) == [
      ("batch_00000", "batch_00000.wav"), ("batch_00001", "batch_00001.wav"),
      ("batch_00002", "batch_00002.wav"), ("model", "model.wav")]
  wavs = [n for n in os.listdir(out) if n.endswith(".wav")]
  assert {soundfile.info(str(out / n)).channels for n in wavs} == {1}
  assert "3 items" in process.stderr and "--channels" in process.stderr
  out2 = tmp_path / "wavs2"
  _ok(_run(str(channels), str(out2), *MEL22, "--channels", "--gl_iters=4", "--lbfgs_iters=5"))
  assert sorted(os.listdir(out2)) == ["manifest.jsonl", "stereo.wav", "two_00000.wav",
                                      "two_00001.wav"]
  assert {soundfile.info(str(out2 / n)).channels
          for n in os.listdir(out2) if n.endswith(".wav")} == {2}
  refused = _run(str(items / "batch.npy"), str(tmp_path / "o.wav"), *MEL22,
                 f"--report={tmp_path / 'r.json'}")
  assert refused.returncode == 2 and "3 items" in refused.stderr, refused.stderr
  assert not (tmp_path / "o_00000.wav").exists()


def test_beam_keeps_channels(tmp_path, stereo):
  pytest.importorskip("apache_beam")
  path, data = stereo
  out = tmp_path / "wavs"
  process = _run(f"--input={path}", f"--output={out}", "--gl_iters=4", "--lbfgs_iters=5",
                 "--quiet", module="tfspecinv.beam")
  _ok(process)
  info = soundfile.info(str(out / "st.wav"))
  assert (info.channels, info.subtype, info.frames) == (2, "PCM_24", data.shape[1])
  manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
  assert manifest[0]["duration_seconds"] == pytest.approx(data.shape[1] / 48000)

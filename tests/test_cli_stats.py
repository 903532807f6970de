"""--stats and --model_config on the command line (tfspecinv.jobs), as a user runs main.py.

The features are made by the NumPy reference of TensorFlowTTS's
`tensorflow_tts/bin/preprocess.py` in tests/test_conventions_tensorflowtts.py
(log10 Slaney mels, `[frames, mels]`), standardised with statistics as
TensorFlowTTS saves them (`np.stack((scaler.mean_, scaler.scale_))`).
"""

import json
import re
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from tfspecinv import SpecInvError, conventions, jobs

from test_conventions_tensorflowtts import tensorflowtts_reference

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = os.path.join(ROOT, "main.py")

LJSPEECH_YAML = """\
sampling_rate: 22050     # Sampling rate.
fft_size: 1024           # FFT size.
hop_size: 256            # Hop size. (fixed value, don't change)
win_length: null         # Window length.
window: "hann"           # Window function.
num_mels: 80             # Number of mel basis.
fmin: 80                 # Minimum freq in mel basis calculation.
fmax: 7600               # Maximum frequency in mel basis calculation.
trim_silence: true       # Whether to trim the start and end of silence.
format: "npy"            # Feature file format. Only "npy" is supported.
"""
HIFIGAN_V1 = {"num_mels": 80, "num_freq": 1025, "n_fft": 1024, "hop_size": 256, "win_size": 1024,
              "sampling_rate": 22050, "fmin": 0, "fmax": 8000, "fmax_for_loss": None}


@pytest.fixture(scope="module")
def tftts(speech, tmp_path_factory):
  """(folder, speech 1 s, stats [2, 80], norm-feats [frames, 80]) with stats.npy and mel.npy."""
  y, sr = speech
  folder = tmp_path_factory.mktemp("tftts")
  raw_all = tensorflowtts_reference(y)
  stats = np.stack((raw_all.mean(0), raw_all.std(0))).astype(np.float32)
  np.save(folder / "stats.npy", stats)
  y = y[:sr]
  norm = ((tensorflowtts_reference(y) - stats[0]) / stats[1]).astype(np.float32)
  np.save(folder / "mel.npy", norm)
  (folder / "ljspeech_preprocess.yaml").write_text(LJSPEECH_YAML)
  return folder, y, stats, norm


def _run(*args, cwd):
  return subprocess.run([sys.executable, MAIN, *args], cwd=cwd, capture_output=True, text=True,
                        timeout=300)


def _feature_sc_db(samples, norm, stats):
  estimate = (tensorflowtts_reference(samples) - stats[0]) / stats[1]
  lin = lambda f: np.power(10.0, f * stats[1].astype(np.float64) + stats[0])
  return 20 * np.log10(np.linalg.norm(lin(estimate) - lin(norm)) / np.linalg.norm(lin(norm)))


@pytest.mark.parametrize("flags", [("--convention=tensorflowtts", "--stats=stats.npy"),
                                   ("--model_config=ljspeech_preprocess.yaml",
                                    "--stats=stats.npy")],
                         ids=["convention", "model_config"])
def test_cli_inverts_standardised_tensorflowtts_mels(tftts, flags):
  folder, y, stats, norm = tftts
  out = folder / f"out_{flags[0][2:7]}.wav"
  process = _run("mel.npy", out.name, *flags, "--overwrite", cwd=folder)
  assert process.returncode == 0, process.stderr
  if "model_config" in flags[0]:
    assert ("model_config: took convention=tensorflowtts, sample_rate=22050, hop_length=256, "
            "n_fft=1024, win_length=1024, window=hann, n_mels=80, fmin=80, fmax=7600 from "
            "ljspeech_preprocess.yaml") in process.stderr
  samples, rate = soundfile.read(out, dtype="float64")
  assert rate == 22050 and abs(len(samples) - len(y)) < 256
  assert 0.05 < np.max(np.abs(samples)) < 1.0
  assert _feature_sc_db(samples, norm, stats) <= -30.0


def test_flags_override_the_model_config(tmp_path):
  path = tmp_path / "config_v1.json"
  path.write_text(json.dumps(HIFIGAN_V1))
  given = frozenset({"n_mels", "fmax"})
  settings = jobs.read_model_files(jobs.JobSettings(
      overrides=(("representation", "mel"), ("n_mels", 64), ("fmax", 7000.0)), given=given,
      model_config=str(path), quiet=True))
  config = jobs.build_config(settings)
  assert config == conventions.make("hifigan", n_mels=64, fmax=7000.0)
  # --convention given explicitly replaces the file's preset; its fields stay.
  settings = jobs.read_model_files(jobs.JobSettings(
      given=frozenset({"convention"}), convention="tacotron2", model_config=str(path),
      quiet=True))
  assert jobs.build_config(settings) == conventions.make("tacotron2", fmin=0.0)


def test_stats_none_drops_the_configs_stats_file(tmp_path):
  stats = tmp_path / "feats_stats.npz"
  np.savez(stats, count=np.asarray(4), sum=np.zeros(80), sum_square=np.full(80, 4.0))
  config = tmp_path / "config.yaml"
  config.write_text("feats_extract: fbank\nfeats_extract_conf:\n  fs: 22050\n  n_fft: 1024\n"
                    "  hop_length: 256\n  n_mels: 80\n  fmin: 80\n  fmax: 7600\n"
                    "normalize: global_mvn\nnormalize_conf:\n  stats_file: feats_stats.npz\n")
  found = jobs.read_model_files(jobs.JobSettings(model_config=str(config), quiet=True))
  assert found.feature_stats == ((0.0,) * 80, (1.0,) * 80, str(stats))
  dropped = jobs.read_model_files(jobs.JobSettings(model_config=str(config), stats="none",
                                                   quiet=True))
  assert dropped.feature_stats is None
  assert jobs.build_config(dropped) == conventions.make("espnet")


# ------------------------------------------------------------------ errors
def _bad_files(folder):
  np.save(folder / "transposed.npy", np.ones((80, 2), np.float32))
  np.save(folder / "ints.npy", np.ones((2, 80), np.int32))
  np.save(folder / "s100.npy", np.stack([np.zeros(100), np.ones(100)]).astype(np.float32))
  (folder / "unknown.json").write_text(json.dumps({"model": "tacotron", "epochs": 3}))
  (folder / "nohop.json").write_text(json.dumps(
      {k: v for k, v in HIFIGAN_V1.items() if k != "hop_size"}))
  (folder / "espnet.yaml").write_text(
      "feats_extract: fbank\nfeats_extract_conf:\n  fs: 22050\n  n_fft: 1024\n"
      "  hop_length: 256\n  n_mels: 80\nnormalize: global_mvn\nnormalize_conf:\n"
      "  stats_file: exp/stats/train/feats_stats.npz\n")


@pytest.mark.parametrize("flags, status, pattern", [
    (("--stats=transposed.npy",), 1,
     r"^error: transposed.npy: the array has shape \(80, 2\).*transposed"),
    (("--stats=ints.npy",), 1, r"^error: ints.npy: the array has dtype int32.*floating point"),
    (("--stats=s100.npy",), 1, r"^error: mel.npy: s100.npy: the statistics have 100 features but the "
                               r"spectrogram has 80"),
    (("--stats=missing.npy",), 1, r"^error: missing.npy: no such statistics file"),
    (("--model_config=unknown.json",), 1,
     r"^error: unknown.json: not a model config this reads \(top-level keys: epochs, model\)"),
    (("--model_config=nohop.json",), 1,
     r"^error: nohop.json: this HiFi-GAN / BigVGAN config.json lacks the audio field\(s\) "
     r"hop_size"),
    (("--model_config=espnet.yaml",), 2,
     r"^usage error: --model_config=espnet.yaml normalises features with "
     r"exp/stats/train/feats_stats.npz, not found beside it; pass --stats=FILE"),
])
def test_bad_files_one_line_status_and_nothing_written(tftts, flags, status, pattern):
  folder = tftts[0]
  _bad_files(folder)
  process = _run("mel.npy", "bad.wav", "--convention=tensorflowtts", *flags, cwd=folder)
  assert process.returncode == status, process.stderr
  assert len(process.stderr.strip().splitlines()) == 1, process.stderr
  assert re.search(pattern, process.stderr.strip()), process.stderr
  assert not (folder / "bad.wav").exists()


def test_yaml_without_pyyaml_is_a_usage_error(tftts):
  folder = tftts[0]
  code = ("import sys, runpy; sys.modules['yaml'] = None; "
          f"sys.argv = ['main.py', 'mel.npy', 'bad.wav', '--model_config=ljspeech_preprocess.yaml'];"
          f" sys.path.insert(0, {ROOT!r}); runpy.run_path({MAIN!r}, run_name='__main__')")
  process = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True,
                           text=True, timeout=300)
  assert process.returncode == 2, process.stderr
  assert process.stderr.strip() == (
      "usage error: --model_config: ljspeech_preprocess.yaml: reading a YAML config needs "
      "PyYAML: pip install pyyaml (or pip install -e '.[yaml]').")
  assert not (folder / "bad.wav").exists()


def test_stats_feature_count_checked_in_python(tmp_path):
  np.save(tmp_path / "s.npy", np.stack([np.zeros(100), np.ones(100)]).astype(np.float32))
  settings = jobs.read_model_files(jobs.JobSettings(convention="tensorflowtts",
                                                    stats=str(tmp_path / "s.npy")))
  with pytest.raises(SpecInvError, match=r"100 features but the spectrogram has 80"):
    jobs.build_config(settings)


def test_coqui_config_with_stats_path(tmp_path):
  audio = {"fft_size": 1024, "win_length": 1024, "hop_length": 256, "sample_rate": 22050,
           "num_mels": 80, "mel_fmin": 0.0, "mel_fmax": 8000.0, "spec_gain": 20.0,
           "signal_norm": True, "stats_path": "scale_stats.npy", "preemphasis": 0.0}
  config = tmp_path / "config.json"
  config.write_text(json.dumps({"model": "glow_tts", "audio": audio}))
  with pytest.raises(jobs.UsageError, match=r"stats_path scale_stats.npy, a pickled dict.*"
                                            r"np.stack\(\[d\['mel_mean'\], d\['mel_std'\]\]\)"):
    jobs.read_model_files(jobs.JobSettings(model_config=str(config), quiet=True))
  rng = np.random.default_rng(2)
  mean, std = rng.normal(-30, 5, 80), rng.uniform(5, 15, 80)
  np.save(tmp_path / "stats.npy", np.stack([mean, std]))
  settings = jobs.read_model_files(jobs.JobSettings(model_config=str(config), quiet=True,
                                                    stats=str(tmp_path / "stats.npy")))
  assert jobs.build_config(settings) == conventions.from_coqui_audio(audio, stats=(mean, std))


def test_beam_bad_stats_file_is_one_line_and_status_1(tftts):
  pytest.importorskip("apache_beam")
  folder = tftts[0]
  _bad_files(folder)
  process = subprocess.run(
      [sys.executable, "-m", "tfspecinv.beam", "--input=mel.npy", "--output=beam_out/",
       "--convention=tensorflowtts", "--stats=transposed.npy"], cwd=folder, capture_output=True,
      text=True, timeout=300, env={**os.environ, "PYTHONPATH": ROOT})
  assert process.returncode == 1, process.stderr
  assert process.stderr.strip().splitlines()[-1].startswith(
      "error: transposed.npy: the array has shape (80, 2)")
  assert not (folder / "beam_out").exists()

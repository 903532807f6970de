"""main.py driven as a user would: subprocesses, exit codes, files on disk."""

import json
import os
import re
import signal
import subprocess
import sys

import librosa
import numpy as np
import pytest
import soundfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "samples", "speech_female_ljspeech.wav")
MAIN = os.path.join(ROOT, "main.py")
MEL_FLAGS = ("--representation=mel", "--sample_rate=22050", "--n_fft=1024", "--hop_length=256",
             "--n_mels=80", "--fmax=8000")


def _run(*args, timeout=300):
  return subprocess.run([sys.executable, MAIN, *args], cwd=ROOT, capture_output=True,
                        text=True, timeout=timeout)


def _no_traceback(process):
  assert "Traceback" not in process.stderr, process.stderr


@pytest.fixture(scope="module")
def librosa_mel(tmp_path_factory):
  y, sr = librosa.load(SAMPLE, sr=22050)
  y = y[:sr * 2]
  mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=1024, hop_length=256, n_mels=80,
                                       fmax=8000, power=2)
  path = tmp_path_factory.mktemp("mel") / "M.npy"
  np.save(path, mel)
  return path, mel, len(y)


def test_round_trip_with_report_and_plot(tmp_path):
  out, report, plot = tmp_path / "out.wav", tmp_path / "r.json", tmp_path / "p.png"
  process = _run(f"--input={SAMPLE}", f"--output={out}", f"--report={report}", f"--plot={plot}",
                 "--lbfgs_iters=30")
  assert process.returncode == 0, process.stderr
  samples, sr = soundfile.read(out)
  assert sr == 22050 and len(samples) == soundfile.info(SAMPLE).frames
  data = json.loads(report.read_text())
  assert data["config"]["n_mels"] == 128 and data["lbfgs_iterations"] == 30
  assert data["quality"]["spectral_convergence_db"] < -25
  assert data["quality"]["log_spectral_distance_db"] > 0
  assert [h["stage"] for h in data["loss_history"]][-1] == "lbfgs"
  import matplotlib.image  # pylint: disable=import-outside-toplevel
  image = matplotlib.image.imread(plot)
  assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 300
  assert "spectral_convergence_db" in process.stderr


def test_invert_librosa_mel_npy_exact_command(tmp_path, librosa_mel):
  path, mel, n = librosa_mel
  out = tmp_path / "O.wav"
  process = _run(f"--input={path}", f"--output={out}", "--convention=librosa",
                 "--representation=mel", "--sample_rate=22050", "--n_fft=1024",
                 "--hop_length=256", "--n_mels=80", "--fmax=8000", "--power=2", f"--length={n}")
  assert process.returncode == 0, process.stderr
  samples, sr = soundfile.read(out)
  assert sr == 22050 and len(samples) == n
  rebuilt = librosa.feature.melspectrogram(y=samples, sr=sr, n_fft=1024, hop_length=256,
                                           n_mels=80, fmax=8000, power=2)
  sc_db = 20 * np.log10(np.linalg.norm(rebuilt - mel) / np.linalg.norm(mel))
  assert sc_db <= -30.0, sc_db


def test_init_flag_chooses_the_initial_phase(tmp_path, librosa_mel):
  path, _, n = librosa_mel
  fit = {}
  for init in ("pghi", "random"):
    report = tmp_path / f"{init}.json"
    process = _run(f"--input={path}", f"--output={tmp_path / init}.wav", *MEL_FLAGS,
                   "--method=griffin_lim", "--gl_iters=20", f"--init={init}", f"--length={n}",
                   f"--report={report}")
    assert process.returncode == 0, process.stderr
    data = json.loads(report.read_text())
    assert data["init"] == init
    fit[init] = data["quality"]["spectral_convergence_db"]
  assert fit["pghi"] < fit["random"] - 1.0, fit


def test_sigint_writes_best_so_far_and_exits_130(tmp_path, librosa_mel):
  path, _, _ = librosa_mel
  out = tmp_path / "o.wav"
  process = subprocess.Popen(
      [sys.executable, MAIN, f"--input={path}", f"--output={out}", "--representation=mel",
       "--n_fft=1024", "--hop_length=256", "--n_mels=80", "--fmax=8000",
       "--sample_rate=22050", "--lbfgs_iters=1000000"],
      cwd=ROOT, stderr=subprocess.PIPE, text=True,
      # As from a terminal: a shell that starts jobs in the background (as CI may run the
      # suite) leaves SIGINT ignored, which children inherit and Python then keeps.
      preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
  seen = []
  for line in process.stderr:
    seen.append(line)
    if line.startswith("lbfgs"):
      break
  process.send_signal(signal.SIGINT)
  rest = process.communicate(timeout=120)[1]
  stderr = "".join(seen) + rest
  assert process.returncode == 130, stderr
  assert "interrupted" in stderr and "Traceback" not in stderr
  samples, _ = soundfile.read(out)
  assert len(samples) > 0 and np.all(np.isfinite(samples)) and np.abs(samples).max() > 0
  assert not [name for name in os.listdir(tmp_path) if name.startswith(".tfspecinv-")]


def test_db_relative_to_max_gives_a_usable_level(tmp_path, librosa_mel):
  path, mel, n = librosa_mel
  db_path = tmp_path / "db.npy"
  np.save(db_path, librosa.power_to_db(mel, ref=np.max))
  out = tmp_path / "o.wav"
  process = _run(f"--input={db_path}", f"--output={out}", "--representation=mel", "--scale=db",
                 "--ref=max", "--sample_rate=22050", "--n_fft=1024", "--hop_length=256",
                 "--n_mels=80", "--fmax=8000", "--lbfgs_iters=20")
  assert process.returncode == 0, process.stderr
  samples, _ = soundfile.read(out)
  assert 0.95 < np.abs(samples).max() <= 1.0
  assert "peak-normalised" in process.stderr


def test_existing_output_is_left_untouched(tmp_path, librosa_mel):
  path, _, _ = librosa_mel
  out = tmp_path / "exists.wav"
  out.write_bytes(b"precious")
  process = _run(f"--input={path}", f"--output={out}", "--n_mels=80", "--n_fft=1024")
  assert process.returncode == 1
  assert "already exists" in process.stderr and "--overwrite" in process.stderr
  _no_traceback(process)
  assert out.read_bytes() == b"precious"


@pytest.mark.parametrize("flag, words", [
    ("--convention=kaldi", "convention"),
    ("--n_fft=abc", "n_fft"),
    ("--method=adam", "method"),
    ("--gl_iters=-3", "gl_iters"),
    ("--init=magic", "init"),
])
def test_bad_flag_value_exits_2(tmp_path, flag, words):
  process = _run(f"--input={SAMPLE}", f"--output={tmp_path / 'o.wav'}", flag, timeout=60)
  assert process.returncode == 2
  assert words in process.stderr
  assert len(process.stderr.strip().splitlines()) == 1, process.stderr
  _no_traceback(process)
  assert not (tmp_path / "o.wav").exists()


def test_missing_input_flag_exits_2():
  process = _run("--output=o.wav", timeout=60)
  assert process.returncode == 2 and "--input" in process.stderr


def test_bad_data_exits_1_without_output(tmp_path):
  bad = tmp_path / "nan.npy"
  array = np.ones((128, 20), np.float32)
  array[3, 4] = np.nan
  np.save(bad, array)
  out = tmp_path / "o.wav"
  process = _run(f"--input={bad}", f"--output={out}")
  assert process.returncode == 1
  assert "NaN" in process.stderr
  assert len(process.stderr.strip().splitlines()) == 1, process.stderr
  _no_traceback(process)
  assert not out.exists() and os.listdir(tmp_path) == ["nan.npy"]


def test_unknown_extension_exits_1(tmp_path):
  path = tmp_path / "spec.txt"
  path.write_text("1 2 3")
  process = _run(f"--input={path}", f"--output={tmp_path / 'o.wav'}")
  assert process.returncode == 1 and "unknown file type" in process.stderr
  _no_traceback(process)


def test_folder_continues_past_a_bad_file(tmp_path, librosa_mel):
  path, mel, _ = librosa_mel
  folder, out = tmp_path / "mels", tmp_path / "wavs"
  folder.mkdir()
  np.save(folder / "a.npy", mel[:, :40])
  np.save(folder / "b.npy", mel[:, 40:80])
  (folder / "c.npy").write_bytes(b"not an array")
  process = _run(f"--input={folder}", f"--output={out}", *MEL_FLAGS, "--lbfgs_iters=10",
                 "--batch_size=2")
  assert process.returncode == 1
  assert sorted(os.listdir(out)) == ["a.wav", "b.wav", "manifest.jsonl"]
  assert "1 of 3 inputs failed" in process.stderr and "c.npy" in process.stderr
  _no_traceback(process)


def test_tfrecord_file_of_spectrograms_into_a_folder(tmp_path, librosa_mel):
  from tfspecinv import io as io_lib  # pylint: disable=import-outside-toplevel
  _, mel, _ = librosa_mel
  path, out = tmp_path / "mels.tfrecord", tmp_path / "wavs"
  io_lib.write_tfrecord(str(path), [mel[:, :40], mel[:, 40:80], np.stack([mel[:, :40]] * 2)],
                        names=["first", "second", "batched"])
  process = _run(f"--input={path}", f"--output={out}", *MEL_FLAGS, "--lbfgs_iters=10",
                 "--batch_size=2")
  assert process.returncode == 1
  assert sorted(os.listdir(out)) == ["first.wav", "manifest.jsonl", "second.wav"]
  assert "1 of 3 inputs failed" in process.stderr and "[2]" in process.stderr
  assert soundfile.info(str(out / "first.wav")).frames == 39 * 256
  _no_traceback(process)


def test_block_mode_streams_long_inputs(tmp_path, librosa_mel):
  path, mel, n = librosa_mel
  out, report = tmp_path / "o.wav", tmp_path / "r.json"
  common = [f"--input={path}", *MEL_FLAGS, "--block_frames=24"]
  process = _run(*common, f"--output={out}", f"--length={n}", "--lbfgs_iters=40",
                 f"--report={report}")
  assert process.returncode == 0, process.stderr
  assert "blocks of 24 frames" in process.stderr
  samples, sr = soundfile.read(out)
  assert len(samples) == n
  rebuilt = librosa.feature.melspectrogram(y=samples, sr=sr, n_fft=1024, hop_length=256,
                                           n_mels=80, fmax=8000, power=2)
  assert 20 * np.log10(np.linalg.norm(rebuilt - mel) / np.linalg.norm(mel)) <= -25.0
  data = json.loads(report.read_text())
  assert data["block_mode"] and data["blocks"] == data["blocks_done"] >= 3
  assert sorted(os.listdir(tmp_path)) == ["o.wav", "r.json"]  # No temporary files left.
  refused = _run(*common, f"--output={tmp_path / 'p.wav'}", f"--plot={tmp_path / 'p.png'}")
  assert refused.returncode == 1 and "--block_frames=0" in refused.stderr
  assert not (tmp_path / "p.wav").exists()
  _no_traceback(refused)


def test_readme_commands_are_what_ci_runs():
  readme = open(os.path.join(ROOT, "README.md")).read()
  ci = open(os.path.join(ROOT, ".ci", "run")).read()
  test_command = re.search(r"^python -m pytest.*$", ci, re.M).group(0)
  install_command = re.search(r"^pip install.*$", ci, re.M).group(0)
  assert test_command in readme
  assert install_command in readme


def test_readme_python_example_runs(tmp_path):
  readme = open(os.path.join(ROOT, "README.md")).read()
  code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
  process = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
  assert process.returncode == 0, process.stderr
  figure = float(re.findall(r"-?\d+\.\d+", process.stdout)[0])
  assert figure < -30.0, process.stdout


def test_positional_input_and_output(tmp_path):
  out = tmp_path / "o.wav"
  process = _run(SAMPLE, str(out), "--gl_iters=4", "--lbfgs_iters=2")
  assert process.returncode == 0, process.stderr
  assert soundfile.info(str(out)).frames == soundfile.info(SAMPLE).frames
  same = _run(SAMPLE, str(tmp_path / "p.wav"), f"--input={SAMPLE}", "--gl_iters=4",
              "--lbfgs_iters=2")
  assert same.returncode == 0, same.stderr


@pytest.mark.parametrize("args, words", [
    ((SAMPLE,), "1 positional argument(s)"),
    ((SAMPLE, "a.wav", "b.wav"), "3 positional argument(s)"),
    ((SAMPLE, "o.wav", "--input=other.wav"), "--input=other.wav disagrees"),
    ((SAMPLE, "o.wav", "--output=p.wav"), "--output=p.wav disagrees"),
])
def test_bad_positional_arguments_exit_2(tmp_path, args, words):
  process = subprocess.run([sys.executable, MAIN, *args], cwd=tmp_path, capture_output=True,
                           text=True, timeout=60)
  assert process.returncode == 2 and words in process.stderr, process.stderr
  assert len(process.stderr.strip().splitlines()) == 1, process.stderr
  _no_traceback(process)
  assert not os.listdir(tmp_path)


def test_duration_sets_the_length_of_an_array(tmp_path, librosa_mel):
  path, mel, n = librosa_mel
  out = tmp_path / "o.wav"
  wrong = _run(str(path), str(out), *MEL_FLAGS, "--duration=1")
  assert wrong.returncode == 1 and not out.exists()
  assert (f"--duration=1 s is 22050 samples, 87 frames with hop_length=256, but the "
          f"spectrogram has {mel.shape[1]}; use a duration between") in wrong.stderr
  assert len(wrong.stderr.strip().splitlines()) == 1, wrong.stderr
  conflict = _run(str(path), str(out), *MEL_FLAGS, f"--duration={n / 22050}",
                  f"--length={n - 100}")
  assert conflict.returncode == 2 and "pass one of them" in conflict.stderr
  process = _run(str(path), str(out), *MEL_FLAGS, f"--duration={(n - 10) / 22050}",
                 "--gl_iters=4", "--lbfgs_iters=2")
  assert process.returncode == 0, process.stderr
  assert soundfile.info(str(out)).frames == n - 10


def test_report_measures_the_file_as_written(tmp_path, librosa_mel):
  """The figures are those of the wav on disk; a level change that spoils them is named."""
  path, mel, length = librosa_mel
  kept, scaled = tmp_path / "kept.wav", tmp_path / "scaled.wav"
  reports = [tmp_path / "kept.json", tmp_path / "scaled.json"]
  common = (f"--input={path}", *MEL_FLAGS, "--power=2", "--lbfgs_iters=40")
  process = _run(*common, f"--output={kept}", f"--report={reports[0]}")
  assert process.returncode == 0, process.stderr
  assert "warning" not in process.stderr
  quality = json.loads(reports[0].read_text())["quality"]
  assert abs(quality["spectral_convergence_db"] - quality["engine_spectral_convergence_db"]) < 1
  # --normalize=peak changes the level of a spectrogram whose level is known.
  process = _run(*common, f"--output={scaled}", f"--report={reports[1]}", "--normalize=peak")
  assert process.returncode == 0, process.stderr
  quality = json.loads(reports[1].read_text())["quality"]
  assert quality["spectral_convergence_db"] > quality["engine_spectral_convergence_db"] + 3
  assert re.search(r"warning: .*scaled\.wav: the written file fits .*scaled by", process.stderr)
  # The reported figure is the written file's own, recomputed here with librosa.
  samples, _ = soundfile.read(scaled)
  again = librosa.feature.melspectrogram(y=samples, sr=22050, n_fft=1024, hop_length=256,
                                         n_mels=80, fmax=8000, power=2)
  sc = 20 * np.log10(np.linalg.norm(again - mel) / np.linalg.norm(mel))
  assert abs(sc - quality["spectral_convergence_db"]) < 0.05


def test_auto_method_is_the_default_and_reported(tmp_path):
  y, sr = librosa.load(SAMPLE, sr=22050, duration=1.0)
  magnitude = np.abs(librosa.stft(y, n_fft=1024, hop_length=256))
  path, out, report = tmp_path / "S.npy", tmp_path / "o.wav", tmp_path / "r.json"
  np.save(path, magnitude)
  process = _run(f"--input={path}", f"--output={out}", f"--report={report}",
                 "--representation=stft", "--power=1", "--n_fft=1024", "--hop_length=256")
  assert process.returncode == 0, process.stderr
  data = json.loads(report.read_text())
  # Linear magnitudes: the linear recipe (a long Griffin-Lim, then L-BFGS).
  assert data["method"] == "lbfgs" and data["gl_iterations"] == 500
  assert data["lbfgs_iterations"] == 50
  assert data["quality"]["spectral_convergence_db"] < -30


def _tiny_mels(mel, count, frames=20):
  return [np.ascontiguousarray(mel[:, i * frames:(i + 1) * frames]) for i in range(count)]


def _corrupt_record(path, index, at=40):
  """Flip a byte inside record `index`'s data (its checksum then fails)."""
  data, offset = bytearray(path.read_bytes()), 0
  for _ in range(index):
    offset += 16 + int.from_bytes(data[offset:offset + 8], "little")
  data[offset + 12 + at] ^= 0x55
  path.write_bytes(bytes(data))


def test_record_names_stay_inside_the_output_folder(tmp_path, librosa_mel):
  """Names from the data: '../escaped', an absolute path, and one name twice."""
  from tfspecinv import io as io_lib  # pylint: disable=import-outside-toplevel
  _, mel, _ = librosa_mel
  source, out = tmp_path / "in" / "mels.tfrecord", tmp_path / "out" / "wavs"
  source.parent.mkdir()
  absolute = tmp_path / "abs"
  io_lib.write_tfrecord(str(source), _tiny_mels(mel, 4),
                        names=["../escaped", str(absolute), "dup", "dup"])
  process = _run(f"--input={source}", f"--output={out}", *MEL_FLAGS, "--gl_iters=4",
                 "--lbfgs_iters=3", "--batch_size=4", "--quiet")
  assert process.returncode == 0, process.stderr
  _no_traceback(process)
  absolute_file = str(absolute).strip("/").replace("/", "_") + ".wav"
  assert sorted(os.listdir(out)) == sorted(
      ["escaped.wav", absolute_file, "dup.wav", "dup-2.wav", "manifest.jsonl"])
  assert sorted(os.listdir(tmp_path / "out")) == ["wavs"]  # Nothing beside the folder,
  assert sorted(os.listdir(tmp_path)) == ["in", "out"]     # nor at the absolute path.
  rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
  assert [(row["input"], row["name"], os.path.basename(row["output"]), row["status"])
          for row in rows] == [
              (f"{source}[0]", "../escaped", "escaped.wav", "written"),
              (f"{source}[1]", str(absolute), absolute_file, "written"),
              (f"{source}[2]", "dup", "dup.wav", "written"),
              (f"{source}[3]", "dup", "dup-2.wav", "written")]
  for row in rows:
    assert soundfile.info(row["output"]).frames == 19 * 256


def test_batch_keeps_each_items_length(tmp_path):
  """Two wavs of 22050 and 22250 samples (44 frames each) in one --batch_size=2 run."""
  y, sr = soundfile.read(SAMPLE, dtype="float32")
  folder, out = tmp_path / "wavs", tmp_path / "out"
  folder.mkdir()
  soundfile.write(folder / "a.wav", y[:22050], sr, subtype="FLOAT")
  soundfile.write(folder / "b.wav", y[5000:5000 + 22250], sr, subtype="FLOAT")
  process = _run(f"--input={folder}", f"--output={out}", "--batch_size=2", "--gl_iters=4",
                 "--lbfgs_iters=3", "--quiet")
  assert process.returncode == 0, process.stderr
  assert soundfile.info(str(out / "a.wav")).frames == 22050
  assert soundfile.info(str(out / "b.wav")).frames == 22250


def test_a_corrupt_record_does_not_stop_the_file(tmp_path, librosa_mel):
  from tfspecinv import io as io_lib  # pylint: disable=import-outside-toplevel
  _, mel, _ = librosa_mel
  source, out = tmp_path / "mels.tfrecord", tmp_path / "wavs"
  io_lib.write_tfrecord(str(source), _tiny_mels(mel, 3), names=["a", "b", "c"])
  _corrupt_record(source, 1)
  process = _run(f"--input={source}", f"--output={out}", *MEL_FLAGS, "--gl_iters=4",
                 "--lbfgs_iters=3", "--batch_size=2", "--quiet")
  assert process.returncode == 1, process.stderr
  _no_traceback(process)
  assert sorted(os.listdir(out)) == ["a.wav", "c.wav", "manifest.jsonl"]
  lines = process.stderr.strip().splitlines()
  assert lines[0] == "1 of 3 inputs failed:", process.stderr
  assert len(lines) == 2 and lines[1].startswith(f"  {source}[1]: TFRecord record 1 ")
  assert "corrupt" in lines[1], process.stderr
  rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
  assert [row["status"] for row in rows] == ["written", "failed", "written"]


@pytest.mark.parametrize("content", [b"not a zip file at all", b"PK\x03\x04" + b"\x00" * 40])
def test_a_corrupt_npz_names_the_file(tmp_path, content):
  bad, out = tmp_path / "mel.npz", tmp_path / "o.wav"
  bad.write_bytes(content)
  process = _run(f"--input={bad}", f"--output={out}")
  assert process.returncode == 1
  assert process.stderr.startswith(f"error: {bad}: cannot read the array ("), process.stderr
  assert len(process.stderr.strip().splitlines()) == 1, process.stderr
  _no_traceback(process)
  assert os.listdir(tmp_path) == ["mel.npz"]
LINEAR_FLAGS = ("--representation=stft", "--power=1", "--sample_rate=22050", "--n_fft=1024",
                "--hop_length=256")


def test_time_budget_in_a_fresh_process(tmp_path):
  """A fresh main.py spends a small --time_budget on iterations, not on compiling.

  It once ran 1 Griffin-Lim iteration and 0 L-BFGS (-18 dB) because tracing and
  compilation used the budget. Fits are measured here with librosa (float64) on
  the written files, against two plain Griffin-Lim runs: librosa `griffinlim`
  for as many iterations as the budgeted run's Griffin-Lim stage did (at least
  as long as that stage alone), and main.py's `--method=griffin_lim` at the same
  budget. Counts, not timings, are asserted (the machine may be busy).
  """
  y, sr = librosa.load(SAMPLE, sr=22050)
  y = y[:sr]
  magnitude = np.abs(librosa.stft(y, n_fft=1024, hop_length=256))
  path = tmp_path / "S.npy"
  np.save(path, magnitude)

  def fit(samples):
    rebuilt = np.abs(librosa.stft(np.asarray(samples, np.float64), n_fft=1024, hop_length=256))
    return 20 * np.log10(np.linalg.norm(rebuilt - magnitude) / np.linalg.norm(magnitude))

  runs = {}
  for name, extra in (("auto", ()), ("griffin_lim", ("--method=griffin_lim",))):
    out, report = tmp_path / f"{name}.wav", tmp_path / f"{name}.json"
    process = _run(str(path), str(out), *LINEAR_FLAGS, "--time_budget=2", f"--report={report}",
                   *extra)
    assert process.returncode == 0, process.stderr
    _no_traceback(process)
    samples, _ = soundfile.read(out)
    assert len(samples) == 256 * (magnitude.shape[1] - 1) and np.abs(samples).max() < 1.0
    runs[name] = (json.loads(report.read_text()), fit(samples), process.stderr)
  data, auto_fit, stderr = runs["auto"]
  compiled = data["stage_seconds"]["compile"]
  assert data["stop_reason"] == "time_budget"
  assert data["gl_iterations"] > 10 and data["lbfgs_iterations"] >= 1, data
  # A fresh process compiles for seconds: outside the budget, reported and warned about.
  assert compiled > 0.5 and "tracing and compiling" in stderr, stderr
  assert data["seconds"] - compiled < 2.0 + 5.0  # Loose: the counted part is about the budget.
  plain = librosa.griffinlim(magnitude, n_iter=data["gl_iterations"], hop_length=256, n_fft=1024,
                             random_state=0)
  assert auto_fit < fit(plain), (auto_fit, fit(plain))
  assert auto_fit < runs["griffin_lim"][1] + 1.0, (auto_fit, runs["griffin_lim"][1])

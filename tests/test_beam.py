"""The Beam pipeline (tfspecinv.beam) on the DirectRunner, two worker processes, local files.

20 tiny librosa mels (speech and piano, three frame counts), two of them broken:
the pipeline writes the same 18 wavs as main.py, two dead letters and an 18-line
manifest; a rerun skips everything; a killed run leaves no partial file and a
rerun completes it.
"""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile

pytest.importorskip("apache_beam", reason="Apache Beam is not installed; the pipeline tests "
                    "need the extra: pip install -e '.[beam]'")

import librosa  # pylint: disable=wrong-import-position

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "samples")
MAIN = os.path.join(ROOT, "main.py")
FLAGS = ("--representation=mel", "--sample_rate=22050", "--n_fft=1024", "--hop_length=256",
         "--n_mels=80", "--fmax=8000", "--gl_iters=4", "--lbfgs_iters=3", "--quiet")
WORKERS = ("--direct_num_workers=2", "--direct_running_mode=multi_processing")
FRAME_COUNTS = (16, 24, 32)
GOOD = 18


def _beam(inputs, output, *extra, **kwargs):
  command = [sys.executable, "-m", "tfspecinv.beam", f"--input={inputs}", f"--output={output}",
             *FLAGS, *WORKERS, *extra]
  return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, **kwargs)


def _read_lines(path):
  with open(path) as handle:
    return [json.loads(line) for line in handle if line.strip()]


def _wavs(folder):
  return sorted(n for n in os.listdir(folder) if n.endswith(".wav"))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
  """A folder of 20 .npy mels: 18 good (3 frame counts), a NaN one and a truncated one."""
  folder = tmp_path_factory.mktemp("beam") / "mels"
  folder.mkdir()
  clips = [librosa.load(os.path.join(SAMPLES, name), sr=22050, duration=3.0)[0]
           for name in ("speech_female_ljspeech.wav", "music_piano.wav")]
  index = 0
  for frames in FRAME_COUNTS:
    for clip in clips:
      for part in range(3):
        start = (part * 7 + index) * 1000
        y = clip[start:start + (frames - 1) * 256]
        mel = librosa.feature.melspectrogram(y=y, sr=22050, n_fft=1024, hop_length=256,
                                             n_mels=80, fmax=8000)
        np.save(folder / f"clip{index:02d}.npy", mel.astype(np.float32))
        index += 1
  broken = mel.copy()
  broken[5, 3] = np.nan
  np.save(folder / "nan.npy", broken)
  (folder / "truncated.npy").write_bytes((folder / "clip00.npy").read_bytes()[:300])
  assert index == GOOD
  return folder


def _main_writes(inputs, out, *extra):
  """What main.py writes for the folder (one run): name -> samples."""
  process = subprocess.run([sys.executable, MAIN, f"--input={inputs}", f"--output={out}",
                            *FLAGS, *extra], cwd=ROOT, capture_output=True, text=True,
                           timeout=600)
  assert process.returncode == 1, process.stderr  # The two broken inputs.
  names = _wavs(out)
  assert len(names) == GOOD, names
  return {name: soundfile.read(out / name, dtype="float64")[0] for name in names}


@pytest.fixture(scope="module")
def expected(inputs, tmp_path_factory):
  """main.py's wavs for the folder, --batch_size=1, 16-bit (the defaults)."""
  return _main_writes(inputs, tmp_path_factory.mktemp("cli") / "wavs", "--batch_size=1")


@pytest.fixture(scope="module")
def first_run(inputs, tmp_path_factory):
  """One pipeline run over the folder, two worker processes."""
  out = tmp_path_factory.mktemp("run") / "wavs"
  started = time.perf_counter()
  process = _beam(f"{inputs}/*.npy", out, "--batch_size=1")
  return out, process, time.perf_counter() - started


def _check_same_wavs(out, expected, tolerance=1e-6):
  assert _wavs(out) == sorted(expected)
  for name, samples in expected.items():
    written, rate = soundfile.read(out / name, dtype="float64")
    assert rate == 22050 and written.shape == samples.shape, name
    assert np.max(np.abs(written - samples)) <= tolerance, name


def _check_dead_letters(out):
  dead = _read_lines(out / "dead_letter.jsonl")
  assert sorted(os.path.basename(d["input"]) for d in dead) == ["nan.npy", "truncated.npy"]
  reasons = {os.path.basename(d["input"]): d["reason"] for d in dead}
  assert "NaN" in reasons["nan.npy"] and "truncated" in reasons["truncated.npy"]
  assert all("\n" not in reason for reason in reasons.values())


def test_pipeline_writes_what_main_writes(first_run, expected):
  out, process, seconds = first_run
  assert process.returncode == 1, process.stderr  # Some inputs failed (dead letters).
  assert "wrote 18 wav(s), skipped 0 existing" in process.stderr, process.stderr
  _check_same_wavs(out, expected)
  _check_dead_letters(out)
  manifest = _read_lines(out / "manifest.jsonl")
  assert len(manifest) == GOOD
  assert {row["status"] for row in manifest} == {"written"}
  assert sorted(os.path.basename(row["output"]) for row in manifest) == sorted(expected)
  for row in manifest:
    frames = round(row["duration_seconds"] * 22050 / 256) + 1
    assert frames in FRAME_COUNTS, row
    assert row["seconds"] > 0 and row["spectral_convergence_db"] < -5, row
  assert not [n for n in os.listdir(out) if n.startswith(".")], os.listdir(out)
  print(f"first run: {seconds:.1f}s")


def test_rerun_writes_nothing_and_counts_the_skipped(first_run, inputs):
  out, process, _ = first_run
  assert process.returncode == 1, process.stderr
  before = {name: os.stat(out / name).st_mtime_ns for name in _wavs(out)}
  again = _beam(f"{inputs}/*.npy", out)
  assert again.returncode == 1, again.stderr
  assert "wrote 0 wav(s), skipped 18 existing" in again.stderr, again.stderr
  assert {name: os.stat(out / name).st_mtime_ns for name in _wavs(out)} == before
  manifest = _read_lines(out / "manifest.jsonl")
  assert len(manifest) == GOOD and {row["status"] for row in manifest} == {"skipped"}
  _check_dead_letters(out)


def test_killed_run_leaves_no_partial_file_and_resumes(inputs, expected, tmp_path):
  out, log = tmp_path / "wavs", tmp_path / "log.txt"
  command = [sys.executable, "-m", "tfspecinv.beam", f"--input={inputs}/*.npy",
             f"--output={out}", *FLAGS, *WORKERS]
  with open(log, "w") as handle:
    process = subprocess.Popen(command, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
                               start_new_session=True)
  try:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
      if out.is_dir() and _wavs(out):
        break
      time.sleep(0.05)
    assert process.poll() is None, log.read_text()
    assert _wavs(out), "no wav within 300 s:\n" + log.read_text()
  finally:
    os.killpg(process.pid, signal.SIGKILL)  # The driver and its worker processes.
    process.wait()
  done = _wavs(out)
  assert 0 < len(done) < GOOD, done
  for name in done:  # Every wav that exists is whole.
    assert np.array_equal(soundfile.read(out / name, dtype="float64")[0], expected[name])
  resumed = _beam(f"{inputs}/*.npy", out)
  assert resumed.returncode == 1, resumed.stderr
  assert f"skipped {len(done)} existing" in resumed.stderr, resumed.stderr
  assert f"wrote {GOOD - len(done)} wav(s)" in resumed.stderr, resumed.stderr
  assert not [n for n in os.listdir(out) if n.startswith(".")], os.listdir(out)
  _check_same_wavs(out, expected)
  _check_dead_letters(out)
  statuses = [row["status"] for row in _read_lines(out / "manifest.jsonl")]
  assert statuses.count("skipped") == len(done) and len(statuses) == GOOD


def test_batches_give_the_same_samples(inputs, tmp_path):
  """Batches of up to 6 (per worker bundle) against main.py one by one, float wavs.

  Float samples, as 16-bit rounding turns the batch's float32 differences
  (under 1e-6) into an occasional 1-LSB step (3e-5).
  """
  single = _main_writes(inputs, tmp_path / "cli", "--batch_size=1", "--subtype=FLOAT")
  out = tmp_path / "wavs"
  process = _beam(f"{inputs}/*.npy", out, "--batch_size=6", "--subtype=FLOAT")
  assert process.returncode == 1, process.stderr
  assert max(row["batch"] for row in _read_lines(out / "manifest.jsonl")) > 1
  _check_same_wavs(out, single)


def test_tfrecord_records_and_a_round_trip(inputs, tmp_path):
  """A TFRecord file (one wav per record, a 3-D record refused) and audio, in one process."""
  from tfspecinv import io as io_lib  # pylint: disable=import-outside-toplevel
  mels = [np.load(inputs / f"clip{i:02d}.npy") for i in (0, 1)]
  records = tmp_path / "in" / "mels.tfrecord"
  records.parent.mkdir()
  io_lib.write_tfrecord(str(records), [mels[0], mels[1], np.stack([mels[0]] * 2)],
                        names=["first", "second", "batched"])
  y, _ = librosa.load(os.path.join(SAMPLES, "speech_female_ljspeech.wav"), sr=22050,
                      duration=0.5)
  soundfile.write(tmp_path / "in" / "speech.wav", y, 22050)
  out = tmp_path / "wavs"
  command = [sys.executable, "-m", "tfspecinv.beam", f"--input={records},{tmp_path}/in/*.wav",
             f"--output={out}", *FLAGS]
  process = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert process.returncode == 1, process.stderr
  assert _wavs(out) == ["first.wav", "second.wav", "speech.wav"]
  assert soundfile.info(str(out / "speech.wav")).frames == len(y)
  dead = _read_lines(out / "dead_letter.jsonl")
  assert [d["input"] for d in dead] == [f"{records}[2]"] and "2-D" in dead[0]["reason"]
  assert len(_read_lines(out / "manifest.jsonl")) == 3


def test_core_package_never_imports_beam():
  code = ("import sys, tfspecinv, tfspecinv.cli, tfspecinv.jobs; "
          "assert 'apache_beam' not in sys.modules, 'apache_beam imported'")
  process = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
  assert process.returncode == 0, process.stderr


def test_settings_are_frozen_and_picklable():
  import pickle  # pylint: disable=import-outside-toplevel
  import dataclasses  # pylint: disable=import-outside-toplevel
  from tfspecinv import jobs  # pylint: disable=import-outside-toplevel
  settings = jobs.JobSettings(overrides=(("representation", "mel"), ("n_mels", 80)),
                              given=frozenset({"n_mels"}), batch_size=4)
  assert pickle.loads(pickle.dumps(settings)) == settings
  with pytest.raises(dataclasses.FrozenInstanceError):
    settings.batch_size = 1  # pytype: disable=not-writable
  assert jobs.build_config(settings).n_mels == 80


def test_names_from_data_stay_inside_and_a_corrupt_record_is_a_dead_letter(inputs, tmp_path):
  """Record names '../escaped', an absolute path and 'dup' twice, a damaged record, and two
  files of one stem from two folders: safe, distinct names (as main.py gives them)."""
  from tfspecinv import io as io_lib  # pylint: disable=import-outside-toplevel
  mel = np.load(inputs / "clip00.npy")
  records = tmp_path / "in" / "mels.tfrecord"
  records.parent.mkdir()
  absolute = tmp_path / "abs"
  io_lib.write_tfrecord(str(records), [mel] * 5,
                        names=["../escaped", str(absolute), "dup", "dup", "bad"])
  data, offset = bytearray(records.read_bytes()), 0
  for _ in range(4):
    offset += 16 + int.from_bytes(data[offset:offset + 8], "little")
  data[offset + 60] ^= 0x55  # Record 4's data no longer match their checksum.
  records.write_bytes(bytes(data))
  for folder in ("a", "b", "c"):
    (tmp_path / folder).mkdir()
    np.save(tmp_path / folder / "clip.npy", mel)
  # a/clip.npy is broken: it still holds its name, so fixing it later moves no other output.
  (tmp_path / "a" / "clip.npy").write_bytes((tmp_path / "b" / "clip.npy").read_bytes()[:100])
  out = tmp_path / "out" / "wavs"
  command = [sys.executable, "-m", "tfspecinv.beam", f"--input={records},{tmp_path}/*/clip.npy",
             f"--output={out}", *FLAGS]
  process = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert process.returncode == 1, process.stderr
  absolute_file = str(absolute).strip("/").replace("/", "_") + ".wav"
  assert _wavs(out) == sorted(["escaped.wav", absolute_file, "dup.wav", "dup-2.wav",
                               "clip-2.wav", "clip-3.wav"])
  assert sorted(os.listdir(tmp_path)) == ["a", "b", "c", "in", "out"]  # Nothing at abs.
  assert sorted(os.listdir(tmp_path / "out")) == ["wavs"]
  dead = _read_lines(out / "dead_letter.jsonl")
  assert [d["input"] for d in dead] == [f"{tmp_path}/a/clip.npy", f"{records}[4]"]
  assert "corrupt" in dead[1]["reason"]
  rows = {row["input"]: (row["name"], os.path.basename(row["output"]))
          for row in _read_lines(out / "manifest.jsonl")}
  assert rows == {f"{tmp_path}/b/clip.npy": ("clip", "clip-2.wav"),
                  f"{tmp_path}/c/clip.npy": ("clip", "clip-3.wav"),
                  f"{records}[0]": ("../escaped", "escaped.wav"),
                  f"{records}[1]": (str(absolute), absolute_file),
                  f"{records}[2]": ("dup", "dup.wav"), f"{records}[3]": ("dup", "dup-2.wav")}
# --------------------------------------------- Beam's DaskRunner on a Dask cluster
DASK_RUNNER = "--runner=apache_beam.runners.dask.dask_runner.DaskRunner"


def _free_port():
  import socket  # pylint: disable=import-outside-toplevel
  with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    return probe.getsockname()[1]


class _DaskCluster:
  """`dask scheduler` and two `dask worker` processes on 127.0.0.1, started by the test."""

  def __init__(self, folder):
    self.folder = folder
    self.port = _free_port()
    self.address = f"127.0.0.1:{self.port}"
    self.processes = {}
    self.env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]),
                    TF_CPP_MIN_LOG_LEVEL="2")
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    self._start("scheduler", dask + ["--host", "127.0.0.1", "--port", str(self.port),
                                     "--no-dashboard", "--idle-timeout", "900"])
    for name in ("worker1", "worker2"):
      self._start(name, [sys.executable, "-m", "distributed.cli.dask_worker", f"tcp://{self.address}",
                         "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny",
                         "--no-dashboard", "--name", name, "--death-timeout", "60",
                         "--local-directory", str(folder / name)])
    self.wait_for_workers(2)

  def _start(self, name, command):
    log = open(self.folder / f"{name}.log", "w")  # pylint: disable=consider-using-with
    self.processes[name] = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)

  def logs(self):
    return "\n".join(f"== {name}\n" + (self.folder / f"{name}.log").read_text()[-2000:]
                     for name in self.processes)

  def wait_for_workers(self, count, timeout=120):
    from distributed import Client  # pylint: disable=import-outside-toplevel
    with Client(self.address, timeout=timeout) as client:
      client.wait_for_workers(count, timeout=timeout)

  def kill(self, name):
    process = self.processes[name]
    if process.poll() is None:
      os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)

  def close(self):
    for name in reversed(list(self.processes)):
      self.kill(name)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
  """A scheduler and two workers on localhost for this module's Dask tests (the last one kills
  a worker); always killed afterwards."""
  pytest.importorskip("distributed", reason="dask.distributed is not installed; the DaskRunner "
                      "tests need the Beam extra: pip install -e '.[beam]'")
  cluster = None
  try:
    cluster = _DaskCluster(tmp_path_factory.mktemp("dask"))
    yield cluster
  finally:
    if cluster is not None:
      cluster.close()


def _beam_on_dask(cluster, inputs, output, *extra, timeout=600):
  command = [sys.executable, "-m", "tfspecinv.beam", f"--input={inputs}", f"--output={output}",
             *FLAGS, DASK_RUNNER, f"--dask_client_address={cluster.address}",
             "--dask_connection_timeout=60", *extra]
  return subprocess.run(command, cwd=ROOT, env=cluster.env, capture_output=True, text=True,
                        timeout=timeout)


def test_dask_cluster_writes_what_main_writes_and_reruns_idempotently(dask_cluster, inputs,
                                                                       expected, tmp_path):
  """Six mels and the two broken files: the CLI's wavs and dead letters; a rerun writes nothing."""
  out = tmp_path / "wavs"
  chosen = f"{inputs}/clip0[0-5].npy,{inputs}/nan.npy,{inputs}/truncated.npy"
  wanted = {name: expected[name] for name in (f"clip0{i}.wav" for i in range(6))}
  process = _beam_on_dask(dask_cluster, chosen, out, "--batch_size=4")
  assert process.returncode == 1, process.stderr + dask_cluster.logs()
  assert "wrote 6 wav(s), skipped 0 existing" in process.stderr, process.stderr
  assert "--batch_size=4 is not used with DaskRunner" in process.stderr, process.stderr
  _check_same_wavs(out, wanted)
  _check_dead_letters(out)
  manifest = _read_lines(out / "manifest.jsonl")
  assert len(manifest) == 6 and {row["status"] for row in manifest} == {"written"}
  assert not [n for n in os.listdir(out) if n.startswith(".")], os.listdir(out)

  before = {name: os.stat(out / name).st_mtime_ns for name in _wavs(out)}
  again = _beam_on_dask(dask_cluster, chosen, out)
  assert again.returncode == 1, again.stderr
  assert "wrote 0 wav(s), skipped 6 existing" in again.stderr, again.stderr
  assert {name: os.stat(out / name).st_mtime_ns for name in _wavs(out)} == before
  manifest = _read_lines(out / "manifest.jsonl")
  assert len(manifest) == 6 and {row["status"] for row in manifest} == {"skipped"}
  _check_dead_letters(out)


def test_dask_worker_killed_mid_job_loses_nothing_on_rerun(dask_cluster, inputs, expected,
                                                           tmp_path):
  """All 20 files; worker1 is killed at the first wav. Whatever the job then does (the other
  worker takes its tasks over, or it fails), every wav is whole and a rerun completes the rest."""
  out, log = tmp_path / "wavs", tmp_path / "job.txt"
  command = [sys.executable, "-m", "tfspecinv.beam", f"--input={inputs}/*.npy",
             f"--output={out}", *FLAGS, DASK_RUNNER,
             f"--dask_client_address={dask_cluster.address}", "--dask_connection_timeout=60"]
  with open(log, "w") as handle:
    job = subprocess.Popen(command, cwd=ROOT, env=dask_cluster.env, stdout=handle,
                           stderr=subprocess.STDOUT, start_new_session=True)
  try:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and job.poll() is None:
      if out.is_dir() and _wavs(out):
        break
      time.sleep(0.05)
    assert job.poll() is None, log.read_text()
    assert _wavs(out), "no wav within 300 s:\n" + log.read_text() + dask_cluster.logs()
    dask_cluster.kill("worker1")  # Mid-job: the other worker goes on (or the job fails).
    job.wait(timeout=300)
  finally:
    if job.poll() is None:
      os.killpg(job.pid, signal.SIGKILL)
      job.wait(timeout=30)
  done = _wavs(out)
  print(f"worker1 killed: the job exited {job.returncode} with {len(done)} of {GOOD} wavs")
  for name in done:  # Every wav that exists is whole.
    assert np.array_equal(soundfile.read(out / name, dtype="float64")[0], expected[name]), name
  resumed = _beam_on_dask(dask_cluster, f"{inputs}/*.npy", out)  # One worker left.
  assert resumed.returncode == 1, resumed.stderr + dask_cluster.logs()
  assert f"skipped {len(done)} existing" in resumed.stderr, resumed.stderr
  assert f"wrote {GOOD - len(done)} wav(s)" in resumed.stderr, resumed.stderr
  assert not [n for n in os.listdir(out) if n.startswith(".")], os.listdir(out)
  _check_same_wavs(out, expected)
  _check_dead_letters(out)
  statuses = [row["status"] for row in _read_lines(out / "manifest.jsonl")]
  assert statuses.count("skipped") == len(done) and len(statuses) == GOOD

"""Fuzzing: damaged and random bytes into every reader, and into main.py.

Property: whatever bytes a file holds, a reader (npy, npz, png, jpeg,
tfrecord, wav) returns a valid result or raises `SpecInvError` whose message
names the file; never another exception. Inputs are a small valid file of each
kind with a few mutations (bytes flipped, overwritten, inserted, deleted, the
file cut short), or plain random bytes. A corrupt .npz once gave
`error: BadZipFile: Bad magic number for file header`, naming no file.

The command line gets mutated files too, in-process through `cli.main` (the
entry point main.py runs) and in a few real subprocesses: exit status 0, 1 or
2; on failure one line naming the file (a TFRecord file: one line per bad
record), no traceback, no unexpected exception, nothing left behind.
"""

import contextlib
import io
import os
import subprocess
import sys
import tempfile

import hypothesis
from hypothesis import strategies as st
import numpy as np
import pytest
import soundfile

from tfspecinv import cli, image, jobs
from tfspecinv import io as io_lib
from tfspecinv.errors import SpecInvError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = os.path.join(ROOT, "main.py")
# A tiny linear magnitude: 9 bins (n_fft 16) x 12 frames, so successful runs are quick.
SHAPE = (9, 12)
CLI_FLAGS = ("--representation=stft", "--power=1", "--sample_rate=8000", "--n_fft=16",
             "--hop_length=4", "--gl_iters=2", "--lbfgs_iters=2", "--quiet", "--db_range=-80,0",
             "--block_frames=0")
FUZZ = hypothesis.settings(max_examples=60, deadline=None, derandomize=True,
                           suppress_health_check=[hypothesis.HealthCheck.too_slow])


def _magnitude():
  rng = np.random.default_rng(0)
  return (rng.random(SHAPE) + 0.1).astype(np.float32)


def _seed_bytes(kind):
  """A small valid file of `kind`, as bytes."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, f"seed.{kind}")
    if kind == "npy":
      np.save(path, _magnitude())
    elif kind == "npz":
      np.savez_compressed(path, mel=_magnitude())
    elif kind == "tfrecord":
      io_lib.write_tfrecord(path, [_magnitude(), _magnitude() * 2], names=["a", "b"])
    elif kind == "wav":
      soundfile.write(path, np.sin(np.arange(400) / 5.0).astype(np.float32) * 0.5, 8000,
                      subtype="FLOAT")
    else:
      pixels = tf.constant((_magnitude() * 200).astype(np.uint8)[:, :, None])
      data = tf.io.encode_png(pixels) if kind == "png" else tf.io.encode_jpeg(pixels)
      with open(path, "wb") as handle:
        handle.write(data.numpy())
    with open(path, "rb") as handle:
      return handle.read()


KINDS = ("npy", "npz", "png", "jpeg", "tfrecord", "wav")
SEEDS = {}


def _seed(kind):
  if kind not in SEEDS:
    SEEDS[kind] = _seed_bytes(kind)
  return SEEDS[kind]


def _apply(seed, mutations):
  data = bytearray(seed)
  for op, position, chunk in mutations:
    position = min(position, len(data))
    if op == "flip" and data:
      data[min(position, len(data) - 1)] ^= chunk[0] or 1
    elif op == "overwrite":
      data[position:position + len(chunk)] = chunk
    elif op == "insert":
      data[position:position] = chunk
    elif op == "delete":
      del data[position:position + len(chunk)]
    elif op == "truncate":
      del data[position:]
  return bytes(data)


@st.composite
def damaged(draw, kind):
  """Bytes of a damaged `kind` file (mostly near its header), or random bytes."""
  seed = _seed(kind)
  if draw(st.integers(0, 9)) == 0:
    return draw(st.binary(max_size=300))
  positions = st.one_of(st.integers(0, 64), st.integers(0, len(seed)))
  mutation = st.tuples(st.sampled_from(["flip", "overwrite", "insert", "delete", "truncate"]),
                       positions, st.binary(min_size=1, max_size=8))
  return _apply(seed, draw(st.lists(mutation, min_size=1, max_size=4)))


def _write(folder, kind, data):
  path = os.path.join(folder, f"in.{kind}")
  with open(path, "wb") as handle:
    handle.write(data)
  return path


def _read(kind, path):
  """Run the reader of `kind`; check what a valid result is."""
  if kind in ("npy", "npz"):
    array = np.asarray(io_lib.read_array(path, "mel" if kind == "npz" else None))
    assert array.dtype.kind in "fiu"
  elif kind in ("png", "jpeg"):
    height, width = image.picture_size(path)
    values, _ = image.read_spectrogram_image(path, (-80.0, 0.0))
    assert values.shape == (height, width) and np.all(np.isfinite(values))
    assert values.min() >= -80 and values.max() <= 0
  elif kind == "wav":
    samples, rate = io_lib.read_audio(path)
    assert samples.ndim == 1 and samples.size and rate > 0 and np.all(np.isfinite(samples))
  else:
    for entry in io_lib.iter_tfrecord(path):  # Never raises: bad records are entries.
      if entry.error is not None:
        assert isinstance(entry.error, SpecInvError) and path in str(entry.error)
        assert entry.spectrogram is None
      else:
        assert entry.spectrogram.dtype == np.float32
    list(io_lib.read_tfrecord(path))  # The strict reader: SpecInvError at the first bad one.


@pytest.mark.parametrize("kind", KINDS)
def test_seeds_are_read(kind, tmp_path):
  """The unmutated files are valid, so the fuzzing starts from real formats."""
  _read(kind, _write(str(tmp_path), kind, _seed(kind)))


@pytest.mark.parametrize("kind", KINDS)
def test_any_bytes_give_a_result_or_a_named_specinv_error(kind, tmp_path_factory):
  folder = str(tmp_path_factory.mktemp(f"fuzz_{kind}"))

  @FUZZ
  @hypothesis.given(data=damaged(kind))
  def check(data):
    path = _write(folder, kind, data)
    try:
      _read(kind, path)
    except SpecInvError as error:
      assert path in str(error), str(error)
      assert "\n" not in str(error).strip(), str(error)

  check()  # pylint: disable=no-value-for-parameter


# ------------------------------------------------------------- command line
def _main_in_process(*args):
  """`cli.main` as main.py runs it: (exit status, stderr)."""
  from absl import flags  # pylint: disable=import-outside-toplevel
  stderr = io.StringIO()
  flags.FLAGS.unparse_flags()
  try:
    with contextlib.redirect_stderr(stderr):
      argv = cli.parse_flags(["main.py", *args])
      try:
        cli.main(argv)
      except SystemExit as exit_:
        return exit_.code, stderr.getvalue()
    raise AssertionError("cli.main returned without an exit status")
  finally:
    flags.FLAGS.unparse_flags()


def _check_cli_result(kind, path, output, status, stderr):
  assert status in (0, 1, 2), (status, stderr)
  assert "Traceback" not in stderr, stderr
  assert "--verbosity=1 for details" not in stderr, stderr  # No unexpected exception.
  folder = os.path.dirname(path)
  assert not [n for n in os.listdir(folder) if n.startswith(".")], os.listdir(folder)
  if status == 0:
    return
  # Warnings about files that were written (a TFRecord's good records) are not errors.
  lines = [line for line in stderr.strip().splitlines() if not line.startswith("warning: ")]
  if kind != "tfrecord" or len(lines) == 1:
    assert len(lines) == 1 and path in lines[0], stderr
    if kind != "tfrecord":
      assert not os.path.exists(output)
  else:  # One line per bad record after the count.
    assert lines[0].endswith("inputs failed:") and len(lines) >= 2, stderr
    assert all(line.startswith(f"  {path}[") for line in lines[1:]), stderr
  if kind == "tfrecord" and os.path.isdir(output):
    assert "manifest.jsonl" in os.listdir(output)  # Something was written, and is listed.


@pytest.mark.parametrize("kind", KINDS)
def test_main_on_damaged_files(kind, tmp_path_factory):
  folder = str(tmp_path_factory.mktemp(f"cli_{kind}"))
  jobs.import_tensorflow_quietly()

  @hypothesis.settings(FUZZ, max_examples=12)
  @hypothesis.given(data=damaged(kind))
  def check(data):
    path = _write(folder, kind, data)
    output = os.path.join(folder, "out" if kind == "tfrecord" else "out.wav")
    try:
      status, stderr = _main_in_process(f"--input={path}", f"--output={output}", *CLI_FLAGS,
                                        "--overwrite")
      _check_cli_result(kind, path, output, status, stderr)
    finally:
      if os.path.isdir(output):
        for name in os.listdir(output):
          os.remove(os.path.join(output, name))
        os.rmdir(output)
      elif os.path.exists(output):
        os.remove(output)

  check()  # pylint: disable=no-value-for-parameter


@pytest.mark.parametrize("kind, mutations", [
    ("npz", [("overwrite", 30, b"\xff\xff\xff\xff")]),
    ("wav", [("truncate", 30, b"x")]),
    ("tfrecord", [("flip", 100, b"\x10")]),
])
def test_main_py_subprocess_on_damaged_files(kind, mutations, tmp_path):
  path = _write(str(tmp_path), kind, _apply(_seed(kind), mutations))
  output = str(tmp_path / ("out" if kind == "tfrecord" else "out.wav"))
  process = subprocess.run([sys.executable, MAIN, f"--input={path}", f"--output={output}",
                            *CLI_FLAGS], cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert process.returncode == 1, process.stderr  # Each of these is damaged.
  _check_cli_result(kind, path, output, process.returncode, process.stderr)

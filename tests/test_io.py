"""Safe reading and writing: clear errors, atomic writes, nothing clobbered."""

import os

import numpy as np
import pytest
import soundfile

from tfspecinv import io as io_lib
from tfspecinv.errors import SpecInvError


def test_write_is_atomic_and_never_clobbers(tmp_path):
  path = tmp_path / "out.wav"
  io_lib.write_audio(str(path), np.zeros(100), 16000)
  assert soundfile.info(str(path)).frames == 100
  with pytest.raises(SpecInvError, match="already exists"):
    io_lib.write_audio(str(path), np.ones(50), 16000)
  assert soundfile.info(str(path)).frames == 100
  io_lib.write_audio(str(path), np.ones(50) * 0.5, 16000, overwrite=True)
  assert soundfile.info(str(path)).frames == 50


def test_failure_inside_atomic_path_leaves_nothing(tmp_path):
  path = tmp_path / "report.json"
  with pytest.raises(RuntimeError):
    with io_lib.atomic_path(str(path)) as temporary:
      open(temporary, "w").write("half")
      raise RuntimeError("crash mid-write")
  assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name, message", [("x.txt", "unknown file type"),
                                           ("noext", "unknown file type")])
def test_unknown_extension(name, message):
  with pytest.raises(SpecInvError, match=message):
    io_lib.input_kind(name)


def test_corrupt_and_truncated_files(tmp_path):
  (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
  (tmp_path / "bad.wav").write_bytes(b"RIFF\x00\x00")
  with pytest.raises(SpecInvError, match="corrupt"):
    io_lib.read_array(str(tmp_path / "bad.npy"))
  with pytest.raises(SpecInvError, match="corrupt"):
    io_lib.read_audio(str(tmp_path / "bad.wav"))


def test_npz_keys(tmp_path):
  path = tmp_path / "specs.npz"
  np.savez(path, mel=np.ones((80, 3)), mfcc=np.zeros((20, 3)))
  assert io_lib.read_array(str(path), "mel").shape == (80, 3)
  with pytest.raises(SpecInvError, match="--key"):
    io_lib.read_array(str(path))
  with pytest.raises(SpecInvError, match="no array named 'spec'"):
    io_lib.read_array(str(path), "spec")


def test_unwritable_or_missing_folder(tmp_path):
  with pytest.raises(SpecInvError, match="does not exist"):
    io_lib.check_output_path(str(tmp_path / "missing" / "o.wav"), overwrite=False)
  with pytest.raises(SpecInvError, match="is a folder"):
    io_lib.check_output_path(str(tmp_path), overwrite=False)

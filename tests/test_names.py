"""Output names made from data (tfspecinv.names, jobs.output_files): always inside the folder.

A TFRecord record named `../escaped` was written beside the output folder, one
named `/abs/path` at that path, and two records of one name failed with
"already exists". These tests hold the rule against hostile names, then check
that the command line and Beam share it (`jobs.output_files`).
"""

import os

import hypothesis
from hypothesis import strategies as st
import pytest

from tfspecinv import jobs, names


def _inside(folder, file_name):
  """True if joining the name to `folder` stays a direct child of it."""
  path = os.path.normpath(os.path.join(folder, file_name))
  return os.path.dirname(path) == folder and os.path.basename(path) == file_name


@pytest.mark.parametrize("name, expected", [
    ("../escaped", "escaped.wav"),
    ("/tmp/abs", "tmp_abs.wav"),
    ("/etc/cron.d/job", "etc_cron.d_job.wav"),
    ("..\\..\\windows\\x", "windows_x.wav"),
    ("a/./b//c", "a_b_c.wav"),
    ("speaker1/utt 7", "speaker1_utt 7.wav"),
    (".bashrc", "bashrc.wav"),
    (".tfspecinv-beam-0-x.partial", "tfspecinv-beam-0-x.partial.wav"),
    ("clip.wav", "clip.wav"),
    ("CLIP.WAV", "CLIP.wav"),
    ("con", "_con.wav"),
    ("NUL.txt", "_NUL.txt.wav"),
    ("COM1", "_COM1.wav"),
    ("a\x00b\nc", "a_b_c.wav"),
    ('what?*<>|":', "what_______.wav"),
    ("glob[0]", "glob_0_.wav"),
    ("trailing. . ", "trailing.wav"),
    ("e\u0301t\u00e9", "\u00e9t\u00e9.wav"),  # NFC: e + combining accent is one letter.
    (b"bytes\xffname", "bytes\ufffdname.wav"),
])
def test_hostile_names_become_plain_files(name, expected):
  assert names.safe_output_name(name, "fallback") == expected
  assert _inside("/out", expected)


@pytest.mark.parametrize("name", [None, "", ".", "..", "../..", "/", "///", " ", ". .", ".wav"])
def test_empty_names_use_the_fallback(name):
  assert names.safe_output_name(name, "mels_00003") == "mels_00003.wav"
  assert names.safe_output_name(name, "../") == "output.wav"  # A fallback is made safe too.


def test_long_names_are_bounded_and_stay_distinct():
  first = names.safe_output_name("x" * 1000 + "a", "f")
  second = names.safe_output_name("x" * 1000 + "b", "f")
  assert first != second
  for file_name in (first, second):
    assert len(file_name.encode()) <= names.MAX_STEM_BYTES + len(".wav")
  wide = names.safe_output_name("\u00e9" * 400, "f")  # Two bytes each: cut on a character.
  assert len(wide.encode()) <= names.MAX_STEM_BYTES + 4 and wide.startswith("\u00e9" * 60)
  assert len(os.path.join("/out", first).encode()) < 4096


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(st.one_of(st.text(), st.binary(), st.text(alphabet="./\\ab\x00 ")))
def test_any_name_is_a_plain_file_inside_the_folder(name):
  file_name = names.safe_output_name(name, "fallback")
  stem = file_name[:-4]
  assert file_name.endswith(".wav") and stem
  assert "/" not in file_name and "\\" not in file_name and "\x00" not in file_name
  assert not file_name.startswith((".", " ")) and stem not in (".", "..")
  assert len(stem.encode()) <= names.MAX_STEM_BYTES
  assert _inside("/out", file_name)


def test_duplicates_get_distinct_names_case_insensitively():
  files = names.output_names(["dup", "dup", "Dup", "dup-2", None, "../dup"],
                             ["f0", "f1", "f2", "f3", "f4", "f5"])
  assert files == ["dup.wav", "dup-3.wav", "Dup-4.wav", "dup-2.wav", "f4.wav", "dup-5.wav"]
  assert len({f.casefold() for f in files}) == len(files)
  with pytest.raises(ValueError, match="2 names but 1 fallbacks"):
    names.output_names(["a", "b"], ["f"])


def test_output_files_is_one_rule_whatever_the_arrival_order():
  """What the command line and Beam both call: order by file, then record number."""
  entries = [("d/m.tfrecord[10]", "x"), ("d/m.tfrecord[9]", "x"), ("d/m.tfrecord[2]", None),
             ("a/clip.npy", "clip"), ("b/clip.npy", "clip"), ("d/m.tfrecord[3]", "/etc/x")]
  files = jobs.output_files(entries)
  assert files == {"a/clip.npy": "clip.wav", "b/clip.npy": "clip-2.wav",
                   "d/m.tfrecord[2]": "m_00002.wav", "d/m.tfrecord[3]": "etc_x.wav",
                   "d/m.tfrecord[9]": "x.wav", "d/m.tfrecord[10]": "x-2.wav"}
  assert jobs.output_files(entries[::-1]) == files
  assert jobs.split_source("d/m[1].tfrecord[12]") == ("d/m[1].tfrecord", 12)
  assert jobs.split_source("d/clip[1].npy") == ("d/clip[1].npy", None)

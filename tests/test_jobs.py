"""tfspecinv.jobs: the per-item work the command line and Beam share.

`--batch_size` once cut audio: `group_items` batched items by shape alone and
`reconstruct_items` gave the whole batch the first item's length, so of two
wavs of 22050 and 22250 samples (the same frame count) the second lost its
last 200 samples, while Beam's `group_key` kept them apart. Both now group by
`group_key` (shape, config, length).
"""

import numpy as np
import pytest

from tfspecinv import conventions, jobs

CONFIG = conventions.make("librosa", sample_rate=22050)
OTHER = conventions.make("librosa", sample_rate=16000)


def _item(name, frames=44, length=None, config=CONFIG):
  return jobs.Item(name, name + ".wav", spectrogram=np.ones((128, frames), np.float32),
                   config=config, length=length)


def test_same_frames_different_lengths_are_never_one_batch():
  assert CONFIG.num_frames(22050) == CONFIG.num_frames(22250)  # The reported case.
  settings = jobs.JobSettings(batch_size=2)
  first, second = _item("a", length=22050), _item("b", length=22250)
  assert jobs.group_items(settings, [first, second]) == [[first], [second]]
  with pytest.raises(ValueError, match="differ in shape, config or length"):
    jobs.reconstruct_items(settings, [first, second])
  # --length applies to every item, so they batch again.
  fixed = jobs.JobSettings(batch_size=2, length=22050)
  assert jobs.group_items(fixed, [first, second]) == [[first, second]]


def test_the_cli_groups_exactly_as_beam_keys():
  """Every batch of `group_items` holds one `group_key` (Beam's buffers) and respects the size."""
  settings = jobs.JobSettings(batch_size=3)
  items = [_item("a"), _item("b", frames=50), _item("c"), _item("d", length=22050),
           _item("e"), _item("f", config=OTHER), _item("g"), _item("h"), _item("i", frames=50)]
  groups = jobs.group_items(settings, items)
  assert sorted(i.source for g in groups for i in g) == sorted(i.source for i in items)
  for group in groups:
    assert len(group) <= 3
    assert len({jobs.group_key(settings, item) for item in group}) == 1
  # Equal keys batch even when not consecutive (as Beam's per-key buffers do).
  assert [[i.source for i in g] for g in groups] == [["a", "c", "e"], ["g", "h"], ["b", "i"],
                                                     ["d"], ["f"]]

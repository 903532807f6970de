"""Output file names made from input data: always a plain file inside the output folder.

A TFRecord record's `name` feature, a file's stem in a folder or a Beam file
pattern come from data that someone else made. `safe_output_name` reduces any
such name to one file name (no folder part, no `..`, no absolute path, no
hidden or reserved name, bounded length), and `output_names` also makes the
names of one job distinct, so that no output lands outside the output folder
and none replaces another. The command line and the Beam pipeline both name
their outputs through these two functions; their manifests record which input
became which file.

  >>> safe_output_name("../escaped")
  'escaped.wav'
  >>> safe_output_name("/etc/cron.d/job")
  'etc_cron.d_job.wav'
  >>> output_names(["a", "A", None, "a"], fallbacks=["x_0", "x_1", "x_2", "x_3"])
  ['a.wav', 'A-2.wav', 'x_2.wav', 'a-3.wav']
"""

import hashlib
import re
import unicodedata

__all__ = ["MAX_STEM_BYTES", "safe_output_name", "output_names"]

# File systems take 255 bytes per name; the Beam pipeline's temporary name adds
# 57 bytes around it, and a duplicate's suffix a few more.
MAX_STEM_BYTES = 150

# Path separators (both systems'), characters Windows or glob patterns
# (Beam's FileSystems.match) treat specially, and control characters.
_UNSAFE = re.compile(r'[/\\:*?"<>|\[\]\x00-\x1f\x7f]')
_RESERVED = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?", re.IGNORECASE)


def safe_output_name(name, fallback="output", extension=".wav"):
  """One input-derived name as a safe file name (no folder part) ending in `extension`.

  The rule: Unicode is NFC-normalised; every path component that is empty,
  `.` or `..` is dropped and the rest are joined with `_` (so `a/b` becomes
  `a_b`, `../x` becomes `x` and `/abs/path` becomes `abs_path`); characters
  that are separators, control characters or special to Windows or to glob
  patterns (`\\ : * ? " < > | [ ]`) become `_`; leading dots and spaces
  (hidden files, the temporary files' `.tfspecinv-` prefix) and trailing dots
  and spaces are stripped; a trailing `extension` already in the name is
  not repeated; a Windows device name (`CON`, `nul.txt`, `COM1`, ...) gets a
  leading `_`; a name longer than `MAX_STEM_BYTES` bytes of UTF-8 is cut
  and given 8 hex digits of its SHA-256, so long names stay distinct; a name
  with nothing left uses `fallback` (itself made safe the same way).

  Args:
    name: The name from the data (str, bytes or None).
    fallback: The stem to use when `name` is None or nothing of it is left,
      e.g. the input file's stem and the record index.
    extension: The output's extension, with its dot.

  Returns:
    A file name (str) without any directory part, at most `MAX_STEM_BYTES`
    bytes before the extension (`output_names` may add a `-N` suffix).
  """
  stem = _safe_stem(name, extension)
  if not stem:
    stem = _safe_stem(fallback, extension) or "output"
  return stem + extension


def output_names(names, fallbacks, extension=".wav"):
  """Safe, distinct file names for one job's outputs, in input order.

  Each name is made safe by `safe_output_name`; when two are equal (ignoring
  case, as macOS and Windows file systems do), the first keeps it and the
  others get `-2`, `-3`, ... (the first free suffix, never a name another
  input has).

  Args:
    names: Input-derived names (str, bytes or None), one per output, in a
      deterministic order (the order the inputs are listed or stored).
    fallbacks: The fallback stem of each, as `safe_output_name` takes it.
    extension: The outputs' extension, with its dot.

  Returns:
    A list of file names (no directory part), distinct ignoring case.

  Raises:
    ValueError: `names` and `fallbacks` differ in length.
  """
  names, fallbacks = list(names), list(fallbacks)
  if len(names) != len(fallbacks):
    raise ValueError(f"output_names: {len(names)} names but {len(fallbacks)} fallbacks.")
  stems = [safe_output_name(n, f, extension)[:-len(extension) or None]
           for n, f in zip(names, fallbacks)]
  taken = {stem.casefold() for stem in stems}
  seen, result = set(), []
  for stem in stems:
    key = stem.casefold()
    if key in seen:
      number = 2
      while f"{stem}-{number}".casefold() in taken:
        number += 1
      stem = f"{stem}-{number}"
      key = stem.casefold()
      taken.add(key)
    seen.add(key)
    result.append(stem + extension)
  return result


def _safe_stem(name, extension):
  """The safe stem of one name ('' when nothing usable is left)."""
  if name is None:
    return ""
  if isinstance(name, bytes):
    name = name.decode("utf-8", "replace")
  # Lone surrogates (undecodable bytes in a listed file name) cannot be encoded: '?' -> '_'.
  name = unicodedata.normalize("NFC", str(name)).encode("utf-8", "replace").decode("utf-8")
  parts = [p for p in re.split(r"[/\\]", name) if p not in ("", ".", "..")]
  stem = _UNSAFE.sub("_", "_".join(parts)).rstrip(". ")
  if extension and stem.lower().endswith(extension.lower()):
    stem = stem[:-len(extension)].rstrip(". ")
  stem = stem.lstrip(". ")
  if _RESERVED.fullmatch(stem):
    stem = "_" + stem
  if len(stem.encode("utf-8")) > MAX_STEM_BYTES:
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    cut = stem.encode("utf-8")[:MAX_STEM_BYTES - 9].decode("utf-8", "ignore").rstrip(". ")
    stem = f"{cut}-{digest}"
  return stem

"""The package's one cache policy: bounded LRU, thread-safe, keyed by config, shape and dtype.

Everything tfspecinv builds once and reuses (compiled Griffin-Lim runners,
`CompiledTransforms`, streaming modules, L-BFGS engines, filterbanks, DCT
matrices) lives in a `BoundedCache`:

* Bounded. A cached value holds traced graphs and, with XLA, compiled
  executables (megabytes each), or at least arrays. A Beam worker, a server
  or a notebook lives long and may see many configs, lengths and dtypes; an
  unbounded cache would grow with every new one. When full, the least
  recently used entry is dropped (a caller still holding it keeps a valid
  object; it is just no longer shared). The price of eviction is a retrace.
* One size: `DEFAULT_MAXSIZE` (8) entries per cache. A program normally uses
  one or two configs (a preset, float32, with and without XLA), so 8 leaves
  room for a few presets and both dtypes while keeping memory flat when the
  config changes per request. Per-object caches keyed by (method, dtype)
  hold at most four methods x two dtypes, which also fits. A zero-argument
  once-per-process value (`cached(maxsize=1)`) has one entry.
* Keyed by `key(config, shape, dtype, **settings)`: the frozen (hashable)
  config object, the shape the compiled function is specialised to (None
  for a `tf.function` whose input signature leaves the shape unknown, so
  every shape shares one graph), the dtype's name (`tf.float32`,
  `np.float32` and `'float32'` are one key) and the remaining settings by
  name. Equal configs share an entry; configs, shapes or dtypes that differ
  get their own.
* Keys must not change once used: a config is hashed only when complete
  (a value needed while a config validates itself is keyed on the fields
  it depends on, which are final by then, as the mel filterbank is).
* Never keyed on an object made per call. A user's `forward_fn` is keyed on
  the function object itself (`Identity`: held by the key, so its `id`
  cannot be reused by another function, and hashable even when the object
  is not). Calling `reconstruct(..., forward_fn=f)` with the same `f` reuses
  its compiled runner; a lambda written inside a loop is a new function
  each time and traces each time (no key could tell that two closures
  compute the same thing), and the bound keeps the memory flat.
* Thread-safe: concurrent `get_or_create` calls for one key run the factory
  once; the others wait for its value. Calls for different keys do not wait
  for each other's factories.

This module imports neither TensorFlow nor anything else heavy.
"""

import collections
import functools
import inspect
import threading

import numpy as np

__all__ = ["DEFAULT_MAXSIZE", "BoundedCache", "CacheInfo", "CacheKey", "Identity", "cached",
           "dtype_name", "key"]

DEFAULT_MAXSIZE = 8

CacheInfo = collections.namedtuple("CacheInfo", ["hits", "misses", "maxsize", "currsize"])
CacheInfo.__doc__ = "Counters of a `BoundedCache` (the fields of `functools.lru_cache`'s)."

CacheKey = collections.namedtuple("CacheKey", ["config", "shape", "dtype", "settings"])
CacheKey.__doc__ = """A cache key: config, shape (or None), dtype name (or None), settings.

`settings` is a tuple of `(name, value)` pairs sorted by name."""


def dtype_name(dtype):
  """The name of a dtype-like value (`'float32'`), None for None.

  Args:
    dtype: A `tf.DType`, `np.dtype`, NumPy scalar type, dtype string or None.

  Returns:
    str or None.
  """
  if dtype is None:
    return None
  if isinstance(dtype, np.dtype) or hasattr(type(dtype), "as_numpy_dtype"):
    return dtype.name  # np.dtype, tf.DType
  return np.dtype(dtype).name


def _is_dtype(value):
  return (isinstance(value, np.dtype) or hasattr(type(value), "as_numpy_dtype")
          or (isinstance(value, type) and issubclass(value, np.generic)))


def _shape(shape):
  """A shape as a tuple of ints / None, or None for an unknown rank (or no shape)."""
  if shape is None:
    return None
  if hasattr(shape, "as_list"):  # tf.TensorShape
    if shape.rank is None:
      return None
    shape = shape.as_list()
  return tuple(None if d is None else int(d) for d in shape)


_PLAIN = (int, float, str, bool, type(None))


def _normalise(value):
  """A hashable, canonical form of a key part: dtypes by name, lists as tuples."""
  if type(value) in _PLAIN:
    return value
  if _is_dtype(value):
    return dtype_name(value)
  if hasattr(value, "as_list"):
    return _shape(value)
  if isinstance(value, (list, tuple)):
    return tuple(_normalise(v) for v in value)
  if isinstance(value, dict):
    return tuple(sorted((k, _normalise(v)) for k, v in value.items()))
  return value


def key(config=None, shape=None, dtype=None, **settings):
  """The cache key for `config`, `shape`, `dtype` and named settings.

  Args:
    config: A frozen (hashable) config, or None.
    shape: The static shape a compiled value is specialised to (sequence or
      `tf.TensorShape`), or None when it takes any shape.
    dtype: Anything dtype-like, or None; stored by name.
    **settings: Other hashable settings (dtypes among them by name, lists as
      tuples).

  Returns:
    A `CacheKey`.

  A part that is not hashable makes `BoundedCache.get_or_create` raise a
  TypeError naming the key.
  """
  return CacheKey(config, _shape(shape), dtype_name(dtype),
                  tuple(sorted((k, _normalise(v)) for k, v in settings.items())) if settings
                  else ())


class Identity:
  """A key part that stands for one object: equal only to itself, hashed by `id`.

  It holds the object, so the object lives (and its `id` stays unique) as
  long as the key does; the object need not be hashable.

  Args:
    obj: Any object (e.g. a user's `forward_fn`).
  """

  __slots__ = ("obj",)

  def __init__(self, obj):
    self.obj = obj

  def __eq__(self, other):
    return isinstance(other, Identity) and other.obj is self.obj

  def __hash__(self):
    return id(self.obj)

  def __repr__(self):
    return f"Identity({self.obj!r})"


class _Pending:
  """A value being made by one thread; others wait on `done`."""

  def __init__(self):
    self.done = threading.Event()
    self.owner = threading.get_ident()
    self.value = None
    self.made = False


class BoundedCache:
  """A thread-safe LRU cache of at most `maxsize` entries (see the module docstring).

  Args:
    maxsize: int >= 1, the number of entries kept (default `DEFAULT_MAXSIZE`).
    name: A name for messages (optional).

  Raises:
    ValueError: for `maxsize < 1`.

  Example:
    >>> runners = BoundedCache()
    >>> runner = runners.get_or_create(key(config, None, tf.float32), lambda: Runner(config))
  """

  def __init__(self, maxsize=DEFAULT_MAXSIZE, name=None):
    if not isinstance(maxsize, int) or maxsize < 1:
      raise ValueError(f"maxsize={maxsize!r}: a BoundedCache needs maxsize >= 1.")
    self.maxsize = maxsize
    self.name = name
    self._entries = collections.OrderedDict()
    self._pending = {}
    self._lock = threading.Lock()
    self._hits = 0
    self._misses = 0

  def get_or_create(self, key_, factory):
    """The value for `key_`, made by `factory()` (once) if absent.

    Args:
      key_: A hashable key (normally from `key`).
      factory: A callable of no arguments that makes the value.

    Returns:
      The cached value; the entry becomes the most recently used, and the
      least recently used one is dropped beyond `maxsize`.

    Raises:
      Whatever `factory` raises (nothing is cached then; a thread that was
      waiting for the same key calls its own factory). TypeError for an unhashable
      key. RuntimeError if `factory` asks this cache for the key it is making.
    """
    try:
      hash(key_)
    except TypeError as error:
      raise TypeError(f"cache key {key_!r} is not hashable ({error}); pass hashable settings "
                      "(tuples, not lists; frozen configs).") from None
    while True:
      with self._lock:
        if key_ in self._entries:
          self._entries.move_to_end(key_)
          self._hits += 1
          return self._entries[key_]
        pending = self._pending.get(key_)
        if pending is None:
          pending = self._pending[key_] = _Pending()
          self._misses += 1
          break
      if pending.owner == threading.get_ident():
        raise RuntimeError(f"the factory for cache key {key_!r} asked for the same key.")
      pending.done.wait()
      if pending.made:
        return pending.value
    try:
      value = factory()
    except BaseException:
      with self._lock:
        del self._pending[key_]
      pending.done.set()
      raise
    with self._lock:
      self._entries[key_] = value
      while len(self._entries) > self.maxsize:
        self._entries.popitem(last=False)
      del self._pending[key_]
    pending.value, pending.made = value, True
    pending.done.set()
    return value

  def __contains__(self, key_):
    with self._lock:
      return key_ in self._entries

  def __len__(self):
    with self._lock:
      return len(self._entries)

  def keys(self):
    """The keys, least recently used first (a list)."""
    with self._lock:
      return list(self._entries)

  def clear(self):
    """Drops every entry and resets the counters."""
    with self._lock:
      self._entries.clear()
      self._hits = self._misses = 0

  def info(self):
    """A `CacheInfo(hits, misses, maxsize, currsize)`."""
    with self._lock:
      return CacheInfo(self._hits, self._misses, self.maxsize, len(self._entries))

  def __repr__(self):
    label = f" {self.name!r}" if self.name else ""
    return f"<BoundedCache{label} {len(self)}/{self.maxsize}>"


def cached(maxsize=DEFAULT_MAXSIZE, make_key=None):
  """Decorator: a module-level function's results in a `BoundedCache`.

  The key is `key(config, shape, dtype, **others)` from the call's bound
  arguments, defaults applied: the arguments named `config`, `shape` and
  `dtype` (when the function has them) and the others as settings, so
  `f(c)` and `f(c, dtype=tf.float32)` share an entry when float32 is the
  default. The function gets the arguments as passed. The wrapper has
  `cache` (the `BoundedCache`), `cache_clear()` and `cache_info()`.

  Args:
    maxsize: int >= 1 (default `DEFAULT_MAXSIZE`); 1 for a zero-argument
      function computed once per process.
    make_key: Optional callable taking the call's arguments and returning
      the key (e.g. `key(...)` of only the config fields the value depends
      on), instead of the default above.

  Returns:
    The decorator.

  Example:
    >>> @cached()
    ... def engine_for(config, dtype=tf.float32):
    ...   return Engine(config, dtype)
  """

  def decorate(function):
    signature = inspect.signature(function)
    names = tuple(signature.parameters)
    plain = all(p.kind == p.POSITIONAL_OR_KEYWORD for p in signature.parameters.values())
    store = BoundedCache(maxsize, name=function.__qualname__)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
      if make_key is not None:
        return store.get_or_create(make_key(*args, **kwargs), lambda: function(*args, **kwargs))
      if plain and not kwargs and len(args) == len(names):
        arguments = dict(zip(names, args))  # The common call, without `bind`'s cost.
      else:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
      config = arguments.pop("config", None)
      shape = arguments.pop("shape", None)
      dtype = arguments.pop("dtype", None)
      return store.get_or_create(key(config, shape, dtype, **arguments),
                                 lambda: function(*args, **kwargs))

    wrapper.cache = store
    wrapper.cache_clear = store.clear
    wrapper.cache_info = store.info
    return wrapper

  return decorate

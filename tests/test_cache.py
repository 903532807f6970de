"""The one cache policy (tfspecinv/cache.py): bounded LRU by config, shape, dtype; thread-safe."""

import threading
import time

import numpy as np
import pytest
import tensorflow as tf

from tfspecinv import cache
from tfspecinv import filterbank
from tfspecinv import mfcc
from tfspecinv import phase
from tfspecinv import streaming
from tfspecinv import transforms
from tfspecinv.config import SpectrogramConfig
from tfspecinv.compat import librosa as compat
from tfspecinv import optimize

SMALL = SpectrogramConfig.librosa(n_fft=64, hop_length=16)


# ------------------------------------------------------------ BoundedCache
def test_evicts_the_least_recently_used_entry_at_the_bound():
  store = cache.BoundedCache(3)
  made = []
  get = lambda k: store.get_or_create(k, lambda: made.append(k) or k.upper())
  for k in "abc":
    get(k)
  assert get("a") == "A"          # a hit: "a" becomes the most recently used
  get("d")                        # over the bound: "b" (least recently used) goes
  assert store.keys() == ["c", "a", "d"]
  assert "b" not in store and len(store) == 3
  get("b")                        # made again, and "c" goes
  assert made == ["a", "b", "c", "d", "b"]
  assert store.keys() == ["a", "d", "b"]
  assert store.info() == cache.CacheInfo(hits=1, misses=5, maxsize=3, currsize=3)
  store.clear()
  assert len(store) == 0 and store.info().misses == 0


@pytest.mark.parametrize("maxsize", [0, -1, 2.5, None])
def test_a_cache_must_be_bounded(maxsize):
  with pytest.raises(ValueError, match="maxsize >= 1"):
    cache.BoundedCache(maxsize)


def test_keys_differ_by_config_shape_and_dtype_and_equal_configs_share():
  first = SpectrogramConfig.librosa(n_fft=256)
  equal = SpectrogramConfig.librosa(n_fft=256)
  assert first is not equal
  base = cache.key(first, None, tf.float32, jit=False)
  # Equal configs and every spelling of a dtype make the same key.
  for same in (cache.key(equal, None, tf.float32, jit=False),
               cache.key(first, None, np.float32, jit=False),
               cache.key(first, None, np.dtype("float32"), jit=False),
               cache.key(first, None, "float32", jit=False)):
    assert same == base and hash(same) == hash(base)
  assert cache.key(first, [1, None], tf.float32) == cache.key(first, tf.TensorShape([1, None]),
                                                              "float32")
  different = [cache.key(SpectrogramConfig.librosa(n_fft=512), None, tf.float32, jit=False),
               cache.key(first, None, tf.float64, jit=False),
               cache.key(first, (1, 100, 129), tf.float32, jit=False),
               cache.key(first, (1, 101, 129), tf.float32, jit=False),
               cache.key(first, None, tf.float32, jit=True)]
  assert len({base, *different}) == 1 + len(different)
  store = cache.BoundedCache()
  made = [store.get_or_create(k, object) for k in [base] + different]
  assert store.get_or_create(cache.key(equal, None, "float32", jit=False), object) is made[0]
  assert len({id(m) for m in made}) == len(made) and len(store) == len(made)


def test_an_unhashable_key_is_a_clear_error():
  with pytest.raises(TypeError, match="not hashable.*tuples, not lists"):
    cache.BoundedCache().get_or_create(cache.key({"n_fft": 512}, None, "float32"), object)
  # Lists are keys' tuples, so a list setting is fine.
  assert cache.key(None, None, None, sizes=[1, 2]) == cache.key(None, None, None, sizes=(1, 2))


def test_concurrent_calls_for_one_key_make_the_value_once():
  store = cache.BoundedCache()
  calls = []
  start = threading.Barrier(8)
  results = [None] * 8

  def factory():
    calls.append(threading.get_ident())
    time.sleep(0.05)  # Long enough for the other threads to ask meanwhile.
    return object()

  def worker(i):
    start.wait()
    results[i] = store.get_or_create("k", factory)

  threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
  for t in threads:
    t.start()
  for t in threads:
    t.join(10)
  assert len(calls) == 1
  assert all(r is results[0] for r in results) and results[0] is not None
  assert store.info().misses == 1 and store.info().hits == 0  # The waiters got the made value.


def test_factories_for_different_keys_do_not_wait_for_each_other():
  store = cache.BoundedCache()
  b_made = threading.Event()
  outcome = {}

  def slow_a():
    outcome["b_seen"] = b_made.wait(10)  # Deadlocks (and times out) under one global lock.
    return "A"

  thread = threading.Thread(
      target=lambda: outcome.setdefault("a", store.get_or_create("a", slow_a)))
  thread.start()
  time.sleep(0.05)
  assert store.get_or_create("b", lambda: "B") == "B"
  b_made.set()
  thread.join(10)
  assert outcome == {"a": "A", "b_seen": True}


def test_a_failed_factory_caches_nothing_and_a_waiter_makes_its_own():
  store = cache.BoundedCache()
  entered = threading.Event()
  release = threading.Event()

  def failing():
    entered.set()
    release.wait(10)
    raise OSError("disk gone")

  errors = []

  def first():
    try:
      store.get_or_create("k", failing)
    except OSError as error:
      errors.append(error)

  thread = threading.Thread(target=first)
  thread.start()
  entered.wait(10)
  waiter = {}
  second = threading.Thread(target=lambda: waiter.setdefault("v", store.get_or_create("k",
                                                                                       lambda: 7)))
  second.start()
  time.sleep(0.05)
  release.set()
  thread.join(10)
  second.join(10)
  assert len(errors) == 1 and waiter == {"v": 7}
  assert store.get_or_create("k", lambda: 8) == 7


def test_a_factory_asking_for_its_own_key_raises():
  store = cache.BoundedCache()
  with pytest.raises(RuntimeError, match="asked for the same key"):
    store.get_or_create("k", lambda: store.get_or_create("k", object))
  assert "k" not in store


# ---------------------------------------------------------------- cached
def test_cached_keys_on_bound_arguments_with_defaults():
  calls = []

  @cache.cached(maxsize=2)
  def build(config, dtype=tf.float32, jit_compile=False):
    calls.append((config, dtype, jit_compile))
    return object()

  a = build(SMALL)
  assert build(SMALL, tf.float32) is a
  assert build(SpectrogramConfig.librosa(n_fft=64, hop_length=16), dtype="float32") is a
  assert build(SMALL, np.float32, False) is a
  assert build(SMALL, tf.float64) is not a
  assert build(SMALL, jit_compile=True) is not a      # Now three keys for a bound of two:
  assert len(calls) == 3 and build.cache_info().currsize == 2
  assert build(SMALL) is not a                         # the first one was evicted.
  build.cache_clear()
  assert build.cache_info() == cache.CacheInfo(0, 0, 2, 0)


# pylint: disable=protected-access
RUNNER = phase._runner
MODULE_CACHES = [RUNNER, transforms.compiled, streaming._cached_module, streaming._ones,
                 filterbank._cached_filterbank, mfcc._cached_dct]
ONCE = [optimize._private_internals, compat.parameter_error]
# pylint: enable=protected-access


@pytest.mark.parametrize("function", MODULE_CACHES, ids=lambda f: f.__qualname__)
def test_module_caches_are_bounded_at_the_default_size(function):
  assert isinstance(function.cache, cache.BoundedCache)
  assert function.cache.maxsize == cache.DEFAULT_MAXSIZE


@pytest.mark.parametrize("function", ONCE, ids=lambda f: f.__qualname__)
def test_once_per_process_values_hold_one_entry(function):
  assert function.cache.maxsize == 1
  assert function() is function()


def test_compiled_transforms_are_evicted_beyond_the_bound():
  size = cache.DEFAULT_MAXSIZE
  others = [SpectrogramConfig.librosa(n_fft=64 + 2 * i, hop_length=16)
            for i in range(1, 2 * size + 1)]
  transforms.compiled.cache_clear()
  first = transforms.compiled(SMALL)
  for config in others[:size - 1]:
    transforms.compiled(config)
  assert transforms.compiled(SMALL) is first  # Full, nothing evicted; now the most recent.
  transforms.compiled(others[size - 1])       # Evicts the least recently used: others[0].
  assert ([k.config for k in transforms.compiled.cache.keys()]  # Least recently used first.
          == others[1:size - 1] + [SMALL, others[size - 1]])
  assert transforms.compiled(SMALL) is first
  for config in others[size:]:
    transforms.compiled(config)
  assert transforms.compiled.cache_info().currsize == size
  assert transforms.compiled(SMALL) is not first


# ------------------------------------------------------- no retrace, eviction
def _magnitude(frames, seed=0):
  rng = np.random.default_rng(seed)
  return np.abs(rng.standard_normal((SMALL.n_bins, frames))).astype(np.float32)


def test_griffin_lim_reuses_its_graph_for_any_shape_and_retraces_after_eviction():
  RUNNER.cache_clear()
  run = lambda frames: phase.griffin_lim(_magnitude(frames), SMALL, iterations=2,
                                         jit_compile=False)
  run(20)
  runner = RUNNER(SMALL, False)
  traces = runner.trace_count
  assert traces == 1
  run(20)
  run(31)                              # Another length: same graph (unknown-shape signature).
  phase.griffin_lim(np.stack([_magnitude(20), _magnitude(20, 1)]), SMALL, iterations=2,
                    jit_compile=False)  # A batch: same graph too.
  assert runner.trace_count == traces
  assert RUNNER(SMALL, False) is runner
  # DEFAULT_MAXSIZE other configs (built, not traced) push it out: it is made and traced anew.
  for hop in range(1, cache.DEFAULT_MAXSIZE + 1):
    RUNNER(SpectrogramConfig.librosa(n_fft=64, hop_length=16 + hop), False)
  assert SMALL not in [k.config for k in RUNNER.cache.keys()]
  run(20)
  fresh = RUNNER(SMALL, False)
  assert fresh is not runner and fresh.trace_count == 1
  assert runner.trace_count == traces  # The evicted runner still works if someone holds it.


def test_a_mel_config_finds_the_filterbank_its_validation_built():
  """Validation builds the filterbank mid-construction; the finished config hits that entry."""
  filterbank._cached_filterbank.cache_clear()  # pylint: disable=protected-access
  info = filterbank._cached_filterbank.cache_info  # pylint: disable=protected-access
  config = SpectrogramConfig.librosa(n_fft=128, n_mels=16, representation="mel")
  assert info().misses == 1
  weights = filterbank.mel_filterbank(config)
  assert filterbank.mel_filterbank(config.replace(hop_length=8)) is weights  # Same mel fields.
  assert info().misses == 1 and info().hits >= 2
  assert filterbank.mel_filterbank(config.replace(n_mels=8)) is not weights


def test_a_user_function_is_keyed_by_identity():
  def make():
    return lambda x: 2.0 * x  # The same code, a new function each call.

  f, g = make(), make()
  assert cache.key(SMALL, None, "float32", forward_fn=cache.Identity(f)) == cache.key(
      SMALL, None, "float32", forward_fn=cache.Identity(f))
  assert cache.Identity(f) != cache.Identity(g)

  class Unhashable:
    __hash__ = None

  model = Unhashable()
  store = cache.BoundedCache(2)
  made = store.get_or_create(cache.key(SMALL, forward_fn=cache.Identity(model)), object)
  assert store.get_or_create(cache.key(SMALL, forward_fn=cache.Identity(model)), object) is made
  # Per-call functions each make an entry, and the bound keeps them to `maxsize`.
  for _ in range(5):
    store.get_or_create(cache.key(SMALL, forward_fn=cache.Identity(make())), object)
  assert len(store) == 2


def test_engine_runners_key_a_forward_fn_by_identity_and_stay_bounded():
  """Engine runners and block solvers use the bounded cache; a forward_fn is keyed by identity."""
  from tfspecinv import longform, pipeline  # pylint: disable=import-outside-toplevel
  for function in (pipeline.engine_for, longform._solver):  # pylint: disable=protected-access
    assert function.cache.maxsize == cache.DEFAULT_MAXSIZE
  assert pipeline.engine_for(SMALL, np.float32) is pipeline.engine_for(SMALL)
  assert pipeline.engine_for(SMALL).dtype == tf.float32
  engine = pipeline.Engine(SMALL)
  forward = lambda x: tf.abs(tf.signal.stft(x, 64, 16))
  first = engine.waveform_runner("mixed", 0.5, forward)
  assert engine.waveform_runner("mixed", 0.5, forward) is first
  for _ in range(cache.DEFAULT_MAXSIZE):  # A new lambda per call: a new entry each time,
    engine.waveform_runner("mixed", 0.5, lambda x: tf.abs(tf.signal.stft(x, 64, 16)))
  assert len(engine._runners) == cache.DEFAULT_MAXSIZE  # pylint: disable=protected-access
  assert engine.waveform_runner("mixed", 0.5, forward) is not first  # and the bound holds.

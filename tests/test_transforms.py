"""STFT / iSTFT / forward model against librosa (float64) and tf.signal."""

import librosa
import numpy as np
import pytest
import scipy.signal
import tensorflow as tf

import tfspecinv as ts
from tfspecinv import SpecInvError, SpectrogramConfig
from tfspecinv import transforms

DTYPES = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]
# Relative tolerance against a float64 reference, per input dtype.
TOL = {np.float32: 1e-5, np.float64: 1e-10}
BATCH_SHAPES = [pytest.param((), id="batch()"), pytest.param((3,), id="batch(3)"),
                pytest.param((2, 2), id="batch(2,2)")]

# librosa-style STFT settings: window centred in the n_fft frame.
STFT_CASES = [
    pytest.param(dict(n_fft=512, hop_length=128, win_length=512, center=True,
                      pad_mode="constant", window="hann"), id="n512-h128-w512-center-constant"),
    pytest.param(dict(n_fft=1024, hop_length=256, win_length=600, center=True,
                      pad_mode="reflect", window="hann"), id="n1024-h256-w600-center-reflect"),
    pytest.param(dict(n_fft=256, hop_length=100, win_length=256, center=True,
                      pad_mode="symmetric", window="hamming"),
                 id="n256-h100-w256-center-symmetric-hamming"),
    pytest.param(dict(n_fft=400, hop_length=160, win_length=301, center=True, pad_mode="edge",
                      window="blackman"), id="n400-h160-w301-center-edge-blackman"),
    pytest.param(dict(n_fft=512, hop_length=160, win_length=400, center=False,
                      pad_mode="constant", window="hann"), id="n512-h160-w400-nocenter"),
    pytest.param(dict(n_fft=2048, hop_length=512, win_length=2048, center=False,
                      pad_mode="reflect", window="hann"), id="n2048-h512-w2048-nocenter"),
]
TF_STFT_CASES_PLAIN = [dict(n_fft=1024, win_length=1024, hop_length=256),
                       dict(n_fft=512, win_length=400, hop_length=160)]
CENTERED_CASES = [c for c in STFT_CASES if c.values[0]["center"]]
UNCENTERED_CASES = [c for c in STFT_CASES if not c.values[0]["center"]]


def _config(case, **extra):
  return SpectrogramConfig.librosa(sample_rate=22050, **case, **extra)


def _librosa_stft(x, case):
  return librosa.stft(np.asarray(x, np.float64), **case)


def _covered_length(case, approx):
  """A signal length whose every sample lies under some window (a multiple of hop).

  With win_length < n_fft and center=True the last few samples of an arbitrary
  length can fall outside every window (true for librosa too), so round trips
  use a multiple of the hop.
  """
  return case["hop_length"] * (approx // case["hop_length"])


# ------------------------------------------------------------------- STFT
@pytest.mark.parametrize("batch_shape", BATCH_SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", STFT_CASES)
def test_stft_magnitude_matches_librosa(case, dtype, batch_shape, speech, batch_of, rel_err):
  audio, _ = speech
  x = batch_of(audio, batch_shape, 11025 + 37)
  cfg = _config(case)
  got = ts.stft(x.astype(dtype), cfg).numpy()
  want = _librosa_stft(x, case)
  assert got.shape == want.shape == batch_shape + (cfg.n_bins, cfg.num_frames(x.shape[-1]))
  assert got.dtype == (np.complex64 if dtype == np.float32 else np.complex128)
  assert rel_err(np.abs(got), np.abs(want)) <= TOL[dtype]
  for power in (1, 2):
    spec = ts.spectrogram(x.astype(dtype), cfg.replace(power=power)).numpy()
    assert spec.dtype == dtype
    assert rel_err(spec, np.abs(want) ** power) <= TOL[dtype]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", STFT_CASES)
def test_stft_complex_values_match_librosa(case, dtype, piano, batch_of, rel_err):
  # Same phase convention: frame t starts at t*hop (- n_fft//2 when centred),
  # the window sits centred in the n_fft buffer, FFT phase relative to its start.
  audio, _ = piano
  x = batch_of(audio, (2,), 8000 + 3)
  got = ts.stft(x.astype(dtype), _config(case)).numpy()
  want = _librosa_stft(x, case)
  assert rel_err(got, want) <= TOL[dtype]
  strong = np.abs(want) > 1e-2 * np.abs(want).max()
  assert np.max(np.abs(np.angle(got[strong] * np.conj(want[strong])))) < 1e-3


def test_stft_frames_bins_layout_is_transpose(speech):
  audio, _ = speech
  x = audio[:6000].astype(np.float32)
  case = STFT_CASES[1].values[0]
  a = ts.stft(x, _config(case)).numpy()
  b = ts.stft(x, _config(case, layout="frames_bins")).numpy()
  np.testing.assert_array_equal(b, a.T)


# ------------------------------------------------------------------ iSTFT
@pytest.mark.parametrize("batch_shape", BATCH_SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CENTERED_CASES)
def test_istft_inverts_stft_centered(case, dtype, batch_shape, speech, batch_of, rel_err):
  audio, _ = speech
  x = batch_of(audio, batch_shape, _covered_length(case, 9000)).astype(dtype)
  cfg = _config(case)
  y = ts.istft(ts.stft(x, cfg), cfg, length=x.shape[-1]).numpy()
  assert y.shape == x.shape and y.dtype == dtype
  # Every sample, edges included.
  assert rel_err(y, x) <= TOL[dtype]
  for lo, hi in [(0, 2 * case["n_fft"]), (-2 * case["n_fft"], None)]:
    assert rel_err(y[..., lo:hi], x[..., lo:hi]) <= 10 * TOL[dtype]


def _window_sumsquare(case, n_frames, align="center"):
  """Independent window-sum-square on the unpadded (center=False) sample grid."""
  n_fft, win, hop = case["n_fft"], case["win_length"], case["hop_length"]
  w = scipy.signal.get_window(case["window"], win, fftbins=True)
  offset = (n_fft - win) // 2 if align == "center" else 0
  span = n_fft if align == "center" else win
  wss = np.zeros(span + hop * (n_frames - 1))
  for t in range(n_frames):
    wss[t * hop + offset:t * hop + offset + win] += w ** 2
  return wss


@pytest.mark.parametrize("batch_shape", BATCH_SHAPES[:2])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", UNCENTERED_CASES)
def test_istft_inverts_stft_uncentered_interior(case, dtype, batch_shape, speech, batch_of,
                                                rel_err):
  audio, _ = speech
  x = batch_of(audio, batch_shape, 9000 + 11).astype(dtype)
  cfg = _config(case)
  spec = ts.stft(x, cfg)
  y = ts.istft(spec, cfg, length=x.shape[-1]).numpy()
  assert y.shape == x.shape
  wss = _window_sumsquare(case, spec.shape[-1])
  wss = np.pad(wss, (0, max(0, x.shape[-1] - len(wss))))[:x.shape[-1]]
  mask = wss > 0.05 * wss.max()
  assert mask.sum() > 0.8 * x.shape[-1]
  assert rel_err(y[..., mask], x[..., mask]) <= TOL[dtype]
  # Samples no frame reaches (after the last frame) come back as zeros, as in librosa.
  assert np.all(y[..., wss == 0] == 0)


@pytest.mark.parametrize("case", TF_STFT_CASES_PLAIN, ids=["n1024-w1024-h256", "n512-w400-h160"])
def test_istft_inverts_tf_signal_stft_interior(case, speech, batch_of, rel_err):
  # window_align='left': the window starts each frame, zero padding at the end.
  audio, rate = speech
  x = batch_of(audio, (2,), 9000 + 11).astype(np.float32)
  cfg = SpectrogramConfig.tf_signal(sample_rate=rate, **case)
  spec = ts.stft(x, cfg)
  y = ts.istft(spec, cfg, length=x.shape[-1]).numpy()
  assert spec.shape == (2, cfg.num_frames(x.shape[-1]), cfg.n_bins)  # frames_bins layout
  wss = _window_sumsquare(dict(case, window="hann"), spec.shape[-2], align="left")
  wss = np.pad(wss, (0, max(0, x.shape[-1] - len(wss))))[:x.shape[-1]]
  mask = wss > 0.05 * wss.max()
  assert mask.sum() > 0.8 * x.shape[-1]
  assert rel_err(y[..., mask], x[..., mask]) <= 1e-5


@pytest.mark.parametrize("case", [
    STFT_CASES[0], STFT_CASES[1], STFT_CASES[4], STFT_CASES[5],
    # PACKAGE BUG (odd n_fft, centred): librosa's default length is
    # n_fft + hop*(frames-1) - 2*(n_fft//2) = hop*(frames-1) + 1, tfspecinv returns one
    # sample fewer (SpectrogramConfig.num_samples drops the n_fft % 2 term).
    pytest.param(dict(n_fft=511, hop_length=128, win_length=511, center=True,
                      pad_mode="constant", window="hann"), id="n511-odd-center"),
    pytest.param(dict(n_fft=511, hop_length=128, win_length=401, center=False,
                      pad_mode="constant", window="hann"), id="n511-odd-nocenter"),
])
def test_istft_default_length_matches_librosa(case, speech, rel_err):
  audio, _ = speech
  x = audio[:7000 + 5]
  cfg = _config(case)
  spec = ts.stft(x, cfg).numpy()
  y = ts.istft(spec, cfg).numpy()
  want = librosa.istft(_librosa_stft(x, case), hop_length=case["hop_length"],
                       win_length=case["win_length"], n_fft=case["n_fft"],
                       window=case["window"], center=case["center"])
  assert y.shape == want.shape
  if case["center"]:
    assert rel_err(y, want) <= 1e-10
    return
  # Not centred: librosa divides by the window-sum-square however small it is;
  # tfspecinv agrees wherever it is at least EDGE_FLOOR of the interior level and
  # shrinks the few samples seen only by window tails (never above librosa's).
  wss = _window_sumsquare(case, spec.shape[-1])[:len(y)]
  kept = wss >= transforms.EDGE_FLOOR * wss.max()
  assert kept.mean() > 0.85  # n_fft 2048 on 7000 samples: 11% of them are window tails.
  assert rel_err(y[kept], want[kept]) <= 1e-10
  assert np.all(np.abs(y[~kept]) <= np.abs(want[~kept]) + 1e-12)


def test_istft_default_length_matches_tf_signal_inverse_stft(speech):
  audio, _ = speech
  cfg = SpectrogramConfig.tf_signal(sample_rate=22050, n_fft=512, win_length=400,
                                    hop_length=160)
  x = tf.constant(audio[:5000 + 3], tf.float32)
  want = tf.signal.inverse_stft(tf.signal.stft(x, 400, 160, 512), 400, 160, 512)
  y = ts.istft(ts.stft(x, cfg), cfg)
  assert y.shape == want.shape


def _inconsistent(spec, seed):
  """A modified STFT that no signal has: random phase offsets and gains."""
  rng = np.random.default_rng(seed)
  phase = np.exp(1j * rng.uniform(-np.pi, np.pi, spec.shape))
  gain = rng.uniform(0.5, 1.5, spec.shape)
  return spec * phase * gain


@pytest.mark.parametrize("with_length", [pytest.param(True, id="length=len(x)"),
                                         pytest.param(False, id="length=None")])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", [STFT_CASES[0], STFT_CASES[1], STFT_CASES[3], STFT_CASES[4]])
def test_istft_of_inconsistent_stft_matches_librosa(case, dtype, with_length, piano, batch_of,
                                                    rel_err):
  audio, _ = piano
  x = batch_of(audio, (2,), 6000 + 1)
  spec = _inconsistent(_librosa_stft(x, case), seed=7)
  cdtype = np.complex64 if dtype == np.float32 else np.complex128
  length = x.shape[-1] if with_length else None
  got = ts.istft(spec.astype(cdtype), _config(case), length=length).numpy()
  want = librosa.istft(spec, hop_length=case["hop_length"], win_length=case["win_length"],
                       n_fft=case["n_fft"], window=case["window"], center=case["center"],
                       length=length)
  assert got.shape == want.shape
  if case["center"]:
    assert rel_err(got, want) <= TOL[dtype]
    return
  # Not centred: equal where the windows cover the signal; at the ends, where
  # librosa divides an inconsistency by a near-zero window-sum-square, the
  # samples stay below the interior's peak.
  wss = _window_sumsquare(case, spec.shape[-1])
  wss = np.pad(wss, (0, max(0, got.shape[-1] - len(wss))))[:got.shape[-1]]
  kept = wss >= transforms.EDGE_FLOOR * wss.max()
  assert rel_err(got[..., kept], want[..., kept]) <= TOL[dtype]
  assert np.abs(got[..., ~kept]).max() <= np.abs(got[..., kept]).max()


def test_istft_rejects_real_input_and_wrong_bins():
  cfg = SpectrogramConfig.librosa(n_fft=512)
  with pytest.raises(SpecInvError, match="complex"):
    ts.istft(tf.zeros([257, 10]), cfg)
  with pytest.raises(SpecInvError, match="frequency bins"):
    ts.istft(tf.zeros([256, 10], tf.complex64), cfg)


# -------------------------------------------------------------- tf.signal
TF_STFT_CASES = [
    pytest.param(dict(n_fft=1024, win_length=1024, hop_length=256), id="n1024-w1024-h256"),
    pytest.param(dict(n_fft=512, win_length=400, hop_length=160), id="n512-w400-h160"),
    pytest.param(dict(n_fft=256, win_length=200, hop_length=200), id="n256-w200-h200"),
]


@pytest.mark.parametrize("batch_shape", BATCH_SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", TF_STFT_CASES)
def test_tf_signal_preset_stft_matches_tf_signal(case, dtype, batch_shape, speech, batch_of,
                                                 rel_err):
  audio, rate = speech
  x = tf.constant(batch_of(audio, batch_shape, 8000 + 7), dtype)
  cfg = SpectrogramConfig.tf_signal(sample_rate=rate, **case)
  got = ts.stft(x, cfg).numpy()
  want = tf.signal.stft(x, frame_length=case["win_length"], frame_step=case["hop_length"],
                        fft_length=case["n_fft"]).numpy()
  assert got.shape == want.shape
  assert rel_err(got, want) <= (1e-6 if dtype == np.float32 else 1e-12)


def _tf_signal_mfcc_recipe(x, rate, n_fft, hop, n_mels, fmin, fmax, n_mfcc):
  """tf.signal's documented MFCC example (tf.signal.mfccs_from_log_mel_spectrograms)."""
  stfts = tf.signal.stft(x, frame_length=n_fft, frame_step=hop, fft_length=n_fft)
  spectrograms = tf.abs(stfts)
  num_bins = stfts.shape[-1]
  weights = tf.signal.linear_to_mel_weight_matrix(n_mels, num_bins, rate, fmin, fmax,
                                                  dtype=x.dtype)
  mel = tf.tensordot(spectrograms, weights, 1)
  mel.set_shape(spectrograms.shape[:-1].concatenate(weights.shape[-1:]))
  log_mel = tf.math.log(mel + 1e-6)
  mfccs = tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[..., :n_mfcc]
  return mel.numpy(), log_mel.numpy(), mfccs.numpy()


# float32: tf.signal builds its mel matrix in float32 (weights off by ~1e-5) and the
# log amplifies float32 FFT rounding in weak bins, so log-mel gets 1e-4.
CHAIN_TOL = {np.float32: dict(mel=1e-5, log_mel=1e-4, mfcc=1e-5),
             np.float64: dict(mel=1e-10, log_mel=1e-10, mfcc=1e-10)}


def _tf_chain_check(x, rate, dtype, rel_err):
  cfg = SpectrogramConfig.tf_signal(sample_rate=rate, representation="mfcc", scale="log")
  x = x.astype(dtype)
  mel, log_mel, mfcc = _tf_signal_mfcc_recipe(tf.constant(x), rate, cfg.n_fft, cfg.hop_length,
                                              cfg.n_mels, cfg.fmin, cfg.fmax, cfg.n_mfcc)
  got = dict(mel=ts.forward(x, cfg.replace(representation="mel", scale="linear")).numpy(),
             log_mel=ts.forward(x, cfg.replace(representation="mel")).numpy(),
             mfcc=ts.forward(x, cfg).numpy())
  assert got["mfcc"].shape == mfcc.shape and mfcc.shape[-1] == 13
  for name, want in dict(mel=mel, log_mel=log_mel, mfcc=mfcc).items():
    assert got[name].dtype == dtype
    assert rel_err(got[name], want) <= CHAIN_TOL[dtype][name], name


@pytest.mark.parametrize("batch_shape", BATCH_SHAPES[:2])
@pytest.mark.parametrize("dtype", DTYPES)
def test_tf_signal_preset_mfcc_chain_matches_tf_signal_recipe(dtype, batch_shape, speech,
                                                              batch_of, rel_err):
  audio, rate = speech
  _tf_chain_check(batch_of(audio, batch_shape, 16000), rate, dtype, rel_err)


def test_tf_signal_preset_mfcc_chain_with_zero_padding(speech, rel_err):
  # A batch zero-padded to a common length (usual with tf.data) has mel == 0 frames;
  # tf.signal gives log(0 + 1e-6). PACKAGE BUG: the preset's default amin (1e-5 for
  # power 1) floors log(max(mel + 1e-6, amin)) at log(1e-5) instead.
  audio, rate = speech
  x = np.zeros((2, 16000))
  x[0] = audio[:16000]
  x[1, :9000] = audio[20000:29000]
  _tf_chain_check(x, rate, np.float64, rel_err)


# --------------------------------------------------------- CompiledTransforms
COMPILED_CONFIGS = [
    pytest.param(SpectrogramConfig.librosa(n_fft=512, hop_length=128, n_mels=64,
                                           representation="mel", scale="db"),
                 id="librosa-mel-db"),
    pytest.param(SpectrogramConfig.tf_signal(sample_rate=22050, n_fft=512, win_length=400,
                                             hop_length=160, n_mels=40, representation="mfcc",
                                             scale="log"), id="tf_signal-mfcc-log"),
]


@pytest.mark.parametrize("cfg", COMPILED_CONFIGS)
def test_compiled_transforms_do_not_retrace_and_match_eager(cfg, speech, batch_of, rel_err):
  audio, _ = speech
  ops = ts.CompiledTransforms(cfg)
  first = batch_of(audio, (2,), 6000).astype(np.float32)
  second = batch_of(audio, (3, 1), 7777).astype(np.float32)

  def run_all(x):
    spec = ops.stft(x)
    return dict(stft=spec, spectrogram=ops.spectrogram(x), forward=ops.forward(x),
                istft=ops.istft(spec, length=x.shape[-1]), istft_default=ops.istft(spec))

  run_all(first)
  traces = ops.trace_count
  assert traces == 4  # stft, spectrogram, forward, istft: one trace each
  out = run_all(second)
  assert ops.trace_count == traces, "a new batch shape / length retraced"
  eager_stft = ts.stft(second, cfg)
  eager = dict(stft=eager_stft, spectrogram=ts.spectrogram(second, cfg),
               forward=ts.forward(second, cfg),
               istft=ts.istft(eager_stft, cfg, length=second.shape[-1]),
               istft_default=ts.istft(eager_stft, cfg))
  for name, want in eager.items():
    got = out[name].numpy()
    assert got.shape == want.shape, name
    assert rel_err(got, want.numpy()) <= 1e-6, name
  # A new dtype traces once more, and only once.
  ops.stft(second.astype(np.float64))
  ops.stft(first.astype(np.float64))
  assert ops.trace_count == traces + 1


def test_compiled_is_cached_per_config():
  a = ts.compiled(SpectrogramConfig.librosa(n_fft=256))
  assert ts.compiled(SpectrogramConfig.librosa(n_fft=256)) is a
  assert ts.compiled(SpectrogramConfig.librosa(n_fft=512)) is not a


BAD_SIGNALS = [
    pytest.param(SpectrogramConfig.librosa(n_fft=512), np.zeros(4096, np.int32),
                 r"dtype int32", id="int32"),
    pytest.param(SpectrogramConfig.librosa(n_fft=512, center=False), np.zeros(300, np.float32),
                 r"300 samples", id="too_short_nocenter"),
    pytest.param(SpectrogramConfig.tf_signal(), np.zeros((2, 1000), np.float32),
                 r"1000 samples", id="too_short_tf_signal"),
    pytest.param(SpectrogramConfig.librosa(n_fft=512, pad_mode="reflect"),
                 np.zeros(200, np.float32), r"reflect padding", id="too_short_for_reflect"),
    pytest.param(SpectrogramConfig.librosa(n_fft=512), np.float32(1.0), r"scalar",
                 id="scalar"),
]


@pytest.mark.parametrize("which", ["eager", "compiled"])
@pytest.mark.parametrize("cfg, signal, pattern", BAD_SIGNALS)
def test_bad_signals_raise(cfg, signal, pattern, which):
  if which == "eager":
    fns = [lambda s: ts.stft(s, cfg), lambda s: ts.forward(s, cfg)]
  else:
    ops = ts.CompiledTransforms(cfg)
    fns = [ops.stft, ops.spectrogram, ops.forward]
  for fn in fns:
    with pytest.raises(SpecInvError, match=pattern):
      fn(tf.constant(signal))


@pytest.mark.parametrize("width, hop", [(1024, 256), (400, 160), (512, 512), (256, 64)])
@pytest.mark.parametrize("samples", [0, 100, 255, 256, 1023, 1024, 1025, 5003])
def test_frame_matches_tf_signal_frame(width, hop, samples):
  signal = tf.random.stateless_normal([2, samples], seed=[samples, width])
  ours = transforms.frame(signal, width, hop)
  reference = tf.signal.frame(signal, width, hop)
  assert ours.shape == reference.shape
  np.testing.assert_array_equal(ours.numpy(), reference.numpy())

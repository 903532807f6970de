"""SpectrogramConfig validation and preset defaults."""

import inspect

import librosa
import pytest
import tensorflow as tf

from tfspecinv import SpecInvError, SpectrogramConfig

# One case per invalid argument: (constructor, kwargs, regex naming the parameter).
INVALID = [
    pytest.param(SpectrogramConfig, dict(n_fft=512, win_length=1024), r"win_length=1024",
                 id="win_length>n_fft"),
    pytest.param(SpectrogramConfig, dict(n_fft=1024, win_length=512, hop_length=600),
                 r"hop_length=600", id="hop_length>win_length"),
    pytest.param(SpectrogramConfig, dict(sample_rate=22050, fmax=12000.0), r"fmax=12000",
                 id="fmax>nyquist"),
    pytest.param(SpectrogramConfig, dict(fmin=8000.0, fmax=8000.0), r"fmin=8000",
                 id="fmin==fmax"),
    pytest.param(SpectrogramConfig, dict(fmin=9000.0, fmax=8000.0), r"fmin=9000",
                 id="fmin>fmax"),
    pytest.param(SpectrogramConfig, dict(power=3), r"power=3", id="power=3"),
    pytest.param(SpectrogramConfig, dict(power=1.5), r"power=1\.5", id="power=1.5"),
    pytest.param(SpectrogramConfig, dict(window="kaiser"), r"window='kaiser'",
                 id="unknown_window"),
    pytest.param(SpectrogramConfig, dict(pad_mode="wrap"), r"pad_mode='wrap'",
                 id="unknown_pad_mode"),
    pytest.param(SpectrogramConfig, dict(scale="log10"), r"scale='log10'", id="unknown_scale"),
    pytest.param(SpectrogramConfig, dict(mel_scale="mel"), r"mel_scale='mel'",
                 id="unknown_mel_scale"),
    pytest.param(SpectrogramConfig, dict(layout="time_major"), r"layout='time_major'",
                 id="unknown_layout"),
    pytest.param(SpectrogramConfig, dict(n_mels=20, n_mfcc=40, representation="mfcc"),
                 r"n_mfcc=40", id="n_mfcc>n_mels"),
    pytest.param(SpectrogramConfig, dict(amin=-1e-10), r"amin=-1e-10", id="negative_amin"),
    pytest.param(SpectrogramConfig, dict(amin=0.0), r"amin=0\.0", id="zero_amin"),
    pytest.param(SpectrogramConfig.tf_signal, dict(mel_scale="slaney"),
                 r"mel_variant='tf_signal'.*mel_scale='slaney'", id="tf_signal_with_slaney_scale"),
    pytest.param(SpectrogramConfig.tf_signal, dict(mel_norm="slaney"),
                 r"mel_variant='tf_signal'.*mel_norm='slaney'", id="tf_signal_with_slaney_norm"),
    pytest.param(SpectrogramConfig, dict(padding=-1), r"padding=-1", id="negative_padding"),
    pytest.param(SpectrogramConfig, dict(padding=2.5), r"padding=2\.5", id="float_padding"),
    pytest.param(SpectrogramConfig, dict(log_base=1.0), r"log_base=1\.0", id="log_base_1"),
    pytest.param(SpectrogramConfig, dict(log_base=-10.0), r"log_base=-10", id="negative_log_base"),
    pytest.param(SpectrogramConfig, dict(log_range=0.0), r"log_range=0\.0", id="zero_log_range"),
    pytest.param(SpectrogramConfig, dict(log_range=float("inf")), r"log_range=inf",
                 id="infinite_log_range"),
    pytest.param(SpectrogramConfig, dict(affine_scale=0.0), r"affine_scale=0\.0",
                 id="zero_affine_scale"),
    pytest.param(SpectrogramConfig, dict(affine_scale=-0.25), r"affine_scale=-0\.25",
                 id="negative_affine_scale"),
    pytest.param(SpectrogramConfig, dict(affine_offset=float("nan")), r"affine_offset=nan",
                 id="nan_affine_offset"),
    pytest.param(SpectrogramConfig, dict(magnitude_eps=-1e-9), r"magnitude_eps=-1e-09",
                 id="negative_magnitude_eps"),
    pytest.param(SpectrogramConfig, dict(magnitude_eps_mode="max"), r"magnitude_eps_mode='max'",
                 id="unknown_magnitude_eps_mode"),
    pytest.param(SpectrogramConfig, dict(drop_last_frame="yes"), r"drop_last_frame='yes'",
                 id="non_bool_drop_last_frame"),
    pytest.param(SpectrogramConfig, dict(preemphasis=1.0), r"preemphasis=1\.0 must be",
                 id="preemphasis_1"),
    pytest.param(SpectrogramConfig, dict(preemphasis=-0.1), r"preemphasis=-0\.1 must be",
                 id="negative_preemphasis"),
    pytest.param(SpectrogramConfig, dict(clip_range=(4.0, -4.0)), r"clip_range=\(4\.0, -4\.0\)",
                 id="clip_range_reversed"),
    pytest.param(SpectrogramConfig, dict(clip_range=4.0), r"clip_range=4\.0 must be a pair",
                 id="clip_range_scalar"),
    pytest.param(SpectrogramConfig, dict(clip_range=(0.0, float("inf"))), r"clip_range=.*finite",
                 id="clip_range_infinite"),
    pytest.param(SpectrogramConfig, dict(representation="mel", n_mels=4, feature_mean=(1, 2)),
                 r"feature_mean has 2 values but the config has 4 features \(n_mels=4\)",
                 id="feature_mean_length"),
    pytest.param(SpectrogramConfig, dict(n_fft=16, feature_scale=[1.0] * 8 + [0.0]),
                 r"feature_scale has 1 values <= 0", id="feature_scale_zero"),
    pytest.param(SpectrogramConfig, dict(n_fft=16, feature_mean=[float("nan")] * 9),
                 r"feature_mean contains 9 NaN", id="feature_mean_nan"),
    pytest.param(SpectrogramConfig, dict(n_fft=16, feature_mean="0,1"),
                 r"feature_mean must be a 1-D sequence", id="feature_mean_string"),
    pytest.param(SpectrogramConfig, dict(representation="mfcc", n_mfcc=20, feature_mean=[0] * 20),
                 r"representation='mfcc' does not take it", id="feature_mean_mfcc"),
]


@pytest.mark.parametrize("make, kwargs, pattern", INVALID)
def test_invalid_argument_raises_specinv_error(make, kwargs, pattern):
  with pytest.raises(SpecInvError, match=pattern) as info:
    make(**kwargs)
  assert isinstance(info.value, ValueError)


def test_specinv_error_is_caught_as_value_error():
  with pytest.raises(ValueError, match="win_length"):
    SpectrogramConfig(n_fft=256, win_length=300)


def test_too_many_mels_warn_naming_the_empty_bands():
  with pytest.warns(UserWarning, match=r"n_mels=128 .*mel filters \[0, 1, 4, 7, 8,"):
    cfg = SpectrogramConfig(n_fft=256, n_mels=128, representation="mel")
  assert cfg.n_mels == 128


def test_too_many_mels_only_checked_when_mels_are_used(recwarn):
  # The same parameters are fine for a linear-frequency STFT ...
  SpectrogramConfig(n_fft=256, n_mels=128, representation="stft")
  # ... and fine for a mel representation once n_fft is large enough.
  SpectrogramConfig(n_fft=2048, n_mels=128, representation="mel")
  assert not [w for w in recwarn if "mel filters" in str(w.message)]


def test_padding_defaults_follow_center_and_replace_rederives_it():
  assert SpectrogramConfig(n_fft=1024).padding == 512
  assert SpectrogramConfig(n_fft=1024, center=False).padding == 0
  cfg = SpectrogramConfig(n_fft=1024, hop_length=256, center=False, padding=384)
  assert cfg.padding == 384 and cfg.num_frames(25600) == 100 and cfg.num_samples(100) == 25600
  assert SpectrogramConfig(n_fft=1024).replace(n_fft=512).padding == 256


def test_drop_last_frame_counts_stored_frames():
  cfg = SpectrogramConfig(n_fft=400, hop_length=160, pad_mode="reflect", drop_last_frame=True)
  assert cfg.num_stft_frames(16000) == 101 and cfg.num_frames(16000) == 100
  assert cfg.num_samples(100) == cfg.stft_num_samples(101) == 16000


def test_new_scale_fields_are_normalised_to_floats():
  cfg = SpectrogramConfig(scale="log", log_base=10, log_range=8, affine_scale=1, affine_offset=1,
                          magnitude_eps=0)
  assert (cfg.log_base, cfg.log_range, cfg.affine_scale, cfg.affine_offset) == (10.0, 8.0, 1.0,
                                                                                1.0)
  assert isinstance(cfg.log_base, float) and isinstance(cfg.magnitude_eps, float)


def test_boundary_values_are_accepted():
  cfg = SpectrogramConfig(sample_rate=16000, n_fft=512, win_length=512, hop_length=512,
                          fmax=8000.0, power=1, n_mels=40, n_mfcc=40,
                          representation="mfcc")
  assert cfg.hop_length == cfg.win_length == cfg.n_fft == 512
  assert cfg.fmax == 8000.0 and cfg.power == 1.0 and cfg.n_mfcc == cfg.n_mels


def _defaults(fn):
  return {name: p.default for name, p in inspect.signature(fn).parameters.items()
          if p.default is not inspect.Parameter.empty}


def test_librosa_preset_matches_librosa_signature_defaults():
  cfg = SpectrogramConfig.librosa(n_fft=1024, representation="mfcc")
  stft_d = _defaults(librosa.stft)
  mel_d = _defaults(librosa.filters.mel)
  db_d = _defaults(librosa.power_to_db)
  mfcc_d = _defaults(librosa.feature.mfcc)
  assert cfg.center == stft_d["center"]
  assert cfg.pad_mode == stft_d["pad_mode"]
  assert cfg.window == stft_d["window"]
  assert cfg.win_length == cfg.n_fft            # librosa: win_length=None -> n_fft
  assert cfg.hop_length == cfg.win_length // 4  # librosa: hop_length=None -> win_length // 4
  assert cfg.power == _defaults(librosa.feature.melspectrogram)["power"]
  assert cfg.n_mels == mel_d["n_mels"]
  assert cfg.fmin == mel_d["fmin"]
  assert cfg.fmax == cfg.sample_rate / 2.0       # librosa: fmax=None -> sr / 2
  assert (cfg.mel_scale == "htk") == mel_d["htk"]
  assert cfg.mel_norm == mel_d["norm"]
  assert cfg.amin == db_d["amin"]
  assert cfg.ref == db_d["ref"]
  assert cfg.top_db == db_d["top_db"]
  assert cfg.n_mfcc == mfcc_d["n_mfcc"]
  assert cfg.dct_type == mfcc_d["dct_type"]
  assert cfg.dct_norm == mfcc_d["norm"]
  assert cfg.lifter == mfcc_d["lifter"]
  assert cfg.layout == "bins_frames" and cfg.window_align == "center"


def test_librosa_preset_magnitude_amin_matches_amplitude_to_db():
  cfg = SpectrogramConfig.librosa(power=1, scale="db")
  assert cfg.amin == _defaults(librosa.amplitude_to_db)["amin"]


def test_torchaudio_preset_defaults():
  # torchaudio.transforms.Spectrogram/MelSpectrogram/AmplitudeToDB/MFCC documented defaults.
  cfg = SpectrogramConfig.torchaudio()
  assert (cfg.sample_rate, cfg.n_fft, cfg.win_length, cfg.hop_length) == (16000, 400, 400, 200)
  assert cfg.center is True and cfg.pad_mode == "reflect" and cfg.window == "hann"
  assert cfg.power == 2.0 and cfg.n_mels == 128 and cfg.fmin == 0.0 and cfg.fmax == 8000.0
  assert (cfg.mel_scale, cfg.mel_norm, cfg.mel_variant) == ("htk", "none", "torchaudio")
  assert cfg.top_db is None and cfg.amin == 1e-10 and cfg.ref == 1.0
  assert cfg.n_mfcc == 40 and cfg.dct_type == 2 and cfg.dct_norm == "ortho"
  assert cfg.layout == "bins_frames"


@pytest.mark.parametrize("kwargs, hop", [
    pytest.param(dict(win_length=300), 150, id="win300"),
    pytest.param(dict(n_fft=1024), 512, id="n_fft1024"),
    pytest.param(dict(n_fft=1024, win_length=801), 400, id="win801_odd"),
    pytest.param(dict(n_fft=1024, hop_length=100), 100, id="explicit_hop"),
])
def test_torchaudio_preset_hop_is_half_window(kwargs, hop):
  assert SpectrogramConfig.torchaudio(**kwargs).hop_length == hop


def test_torchaudio_preset_fmax_default_is_sample_rate_floor_div_2():
  # torchaudio's MelScale/MelSpectrogram: f_max=None -> float(sample_rate // 2).
  cfg = SpectrogramConfig.torchaudio(sample_rate=22051)
  assert cfg.fmax == float(22051 // 2)


def test_tf_signal_preset_defaults():
  cfg = SpectrogramConfig.tf_signal()
  stft_d = _defaults(tf.signal.stft)
  assert cfg.center is False and stft_d["pad_end"] is False  # tf.signal.stft does not pad
  assert cfg.window_align == "left" and cfg.layout == "frames_bins"
  assert (cfg.sample_rate, cfg.n_fft, cfg.win_length, cfg.hop_length) == (16000, 1024, 1024, 256)
  assert cfg.power == 1.0
  assert (cfg.n_mels, cfg.fmin, cfg.fmax) == (80, 80.0, 7600.0)
  assert (cfg.mel_scale, cfg.mel_norm, cfg.mel_variant) == ("htk", "none", "tf_signal")
  assert cfg.log_offset == 1e-6 and cfg.top_db is None
  assert cfg.n_mfcc == 13 and cfg.dct_type == 2 and cfg.dct_norm == "tf_signal"


def test_presets_accept_overrides_and_are_hashable():
  a = SpectrogramConfig.librosa(n_fft=1024, n_mels=80)
  b = SpectrogramConfig.librosa(n_fft=1024, n_mels=80)
  assert a == b and hash(a) == hash(b)
  assert a.n_bins == 513 and a.hop_length == 256
  assert SpectrogramConfig.tf_signal(n_fft=512, hop_length=128).n_fft == 512


def test_replace_rederives_defaults():
  # Derived defaults (win_length, hop_length, fmax, amin) are derived again.
  cfg = SpectrogramConfig.librosa(n_fft=1024)
  assert cfg.replace(n_fft=512) == SpectrogramConfig.librosa(n_fft=512)


def test_replace_validates_again():
  cfg = SpectrogramConfig.librosa(n_fft=1024, hop_length=256, win_length=1024)
  with pytest.raises(SpecInvError, match="power"):
    cfg.replace(power=0.5)
  assert cfg.replace(hop_length=128).hop_length == 128


def test_stored_value_fields_are_normalised_and_hashable():
  import numpy as np  # pylint: disable=import-outside-toplevel
  cfg = SpectrogramConfig(representation="mel", n_mels=3, feature_mean=np.array([1, 2, 3]),
                          feature_scale=[1, 2, 3], clip_range=[-4, 4], preemphasis=0.97)
  assert cfg.feature_mean == (1.0, 2.0, 3.0) and cfg.clip_range == (-4.0, 4.0)
  assert isinstance(cfg.preemphasis, float) and hash(cfg) == hash(cfg.replace())
  with pytest.raises(SpecInvError, match="feature_mean has 3 values but the config has 4"):
    cfg.replace(n_mels=4)

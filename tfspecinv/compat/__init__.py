"""Drop-in replacements for other libraries' inversion functions, run by tfspecinv.

`tfspecinv.compat.librosa`: `griffinlim`, `mel_to_stft`, `mel_to_audio`,
`mfcc_to_mel` and `mfcc_to_audio` with librosa's signatures and output
contract. librosa itself is not needed to use them.
"""

__all__ = ["librosa"]

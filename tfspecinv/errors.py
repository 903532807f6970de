"""The one error type tfspecinv raises for bad parameters or bad input."""

__all__ = ["SpecInvError"]


class SpecInvError(ValueError):
  """Raised for invalid configuration or input.

  Every message names the parameter or input at fault, its value, the rule it
  breaks and how to fix it. It subclasses `ValueError` so callers that already
  catch `ValueError` keep working.

  Args:
    message: The one-line explanation (`str(error)`), e.g. "the spectrogram
      contains 9 NaN and 0 infinite values; fix the source or replace them
      (e.g. np.nan_to_num) before inverting."

  Example:
    >>> try:
    ...   tfspecinv.reconstruct(np.zeros([9]), config)
    ... except tfspecinv.SpecInvError as error:
    ...   print(error)   # the spectrogram has shape (9,); it needs at least 2 dimensions ...
  """

"""The one error type tfspecinv raises for bad parameters or bad input."""

__all__ = ["SpecInvError"]


class SpecInvError(ValueError):
  """Raised for invalid configuration or input.

  Every message names the parameter or input at fault, its value, the rule it
  breaks and how to fix it. It subclasses `ValueError` so callers that already
  catch `ValueError` keep working.
  """

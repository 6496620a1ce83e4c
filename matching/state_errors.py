"""The error every self-check raises."""


class InvariantError(AssertionError):
    """The engine's state is inconsistent: always a bug."""

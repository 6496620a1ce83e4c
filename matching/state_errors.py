"""The error every self-check raises."""


class InvariantError(Exception):
    """The engine's state is inconsistent: always a bug."""

"""The one exception type for errors a user can cause."""


class MncostError(ValueError):
    """A user error with a one-line message; the CLI prints it and exits 2."""

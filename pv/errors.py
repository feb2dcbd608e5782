"""One exception tree for pv. The CLI turns these into messages and exit codes, never tracebacks."""


class PvError(Exception):
    """Base of every error pv raises on purpose."""

    exit_code = 2


class UsageError(PvError):
    """The user asked for something impossible (bad flag combination, nothing matched)."""

    exit_code = 2


class ConfigError(PvError):
    """pyproject.toml [tool.pv] is missing something or malformed."""

    exit_code = 2

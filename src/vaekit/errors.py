"""The one family of errors vaekit raises; the CLI turns them into one line and exit code 2."""


class VaekitError(Exception):
    """Base class: a problem the user can fix, described in one line."""


class ConfigError(VaekitError):
    """A configuration value is unknown, of the wrong type or out of range."""


class DataError(VaekitError):
    """Input data is missing, malformed, or does not fit the model."""


class CheckpointError(VaekitError):
    """A run directory or checkpoint is missing, incomplete, corrupt or unsafe."""


class TrainingError(VaekitError):
    """Training cannot go on (e.g. too many non-finite steps in a row)."""

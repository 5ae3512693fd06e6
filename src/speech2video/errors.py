"""The package's exceptions: every bad input ends in one of these, with a message naming the problem."""


class Speech2VideoError(ValueError):
    """Base class of all speech2video errors (a `ValueError`, so generic handlers still catch it)."""


class AudioError(Speech2VideoError):
    """The audio input is missing, unreadable, empty, too short or holds invalid samples."""


class CheckpointError(Speech2VideoError):
    """A model path is missing, incomplete, not safetensors, or its weights are damaged."""


class OutputError(Speech2VideoError):
    """The output path cannot be written (missing folder, existing file without overwrite, ...)."""

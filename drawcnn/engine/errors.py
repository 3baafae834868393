"""The engine's exception types: one per kind of user-facing failure, each with a readable
message (callers show ``str(exc)`` as is)."""


class DrawCNNError(Exception):
    """Base of every error drawcnn raises on purpose."""


class WeightsError(DrawCNNError):
    """A weights file is missing, truncated, corrupted or does not match its architecture."""


class ArchitectureError(DrawCNNError):
    """An architecture spec is unknown or its shapes do not fit together."""


class BackendUnavailable(DrawCNNError):
    """A requested compute backend cannot run here; the message says why."""


class TrainingDiverged(DrawCNNError):
    """The loss became NaN or infinite; the last good weights were kept."""

"""Madad's one hierarchy of errors, at the lowest layer so that every layer can raise them.

Each subclass also inherits the matching builtin (a scenario error is a ``ValueError`` too).

Every message names the file, row or field at fault and says how to fix it.
"""

from __future__ import annotations


class MadadError(Exception):
    """Base class of every error Madad raises on purpose."""


class ScenarioError(MadadError, ValueError):
    """A scenario file is malformed or asks for something unknown."""


class RegistryError(MadadError, ValueError):
    """A registry file cannot be read at all (bad rows go to quarantine instead)."""


class HazardError(MadadError, ValueError):
    """A hazard raster or table cannot be used."""


class BoundaryError(MadadError, ValueError):
    """A boundary file cannot be used or does not match the registry."""


class DataFileError(MadadError, FileNotFoundError):
    """A file the project ships in ``data/`` is missing or malformed."""


class CnicError(MadadError, ValueError):
    """A CNIC is missing or malformed. The message masks it and names the row."""


class KeyRingError(MadadError, ValueError):
    """A key or key ring is malformed, unsafe (file readable by others) or lacks a key."""


class ExportError(MadadError, ValueError):
    """A run folder, format or export option cannot be used."""


class WriteStopped(ExportError):
    """A file being written was told to stop: the run it belongs to failed meanwhile."""


class LinkageError(MadadError, ValueError):
    """Registries cannot be encoded or linked (missing columns, incompatible encodings, ...)."""


class DisclosureError(MadadError, ValueError):
    """A table or plan cannot be suppressed as given (inconsistent totals, bad options)."""


class ExchangeError(MadadError, ValueError):
    """An exchange package, key, identity or audit log is refused; the message says why."""


class SchedulerError(MadadError, ValueError):
    """A Dask scheduler that cannot be reached or used, or a run it cannot take (madad run --scheduler)."""


class WorkspaceError(MadadError, ValueError):
    """A Committee workspace action cannot be carried out as asked (bad input, unknown plan...)."""


class ForbiddenError(WorkspaceError, PermissionError):
    """The member's role or organisation does not allow this action (checked on the server)."""


class ConflictError(WorkspaceError):
    """Someone changed the same record meanwhile (optimistic version check); reload and retry."""


class DownloadError(MadadError, RuntimeError):
    """A download of the app could not be written; no file is served (the page says why)."""

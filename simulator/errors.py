"""One hierarchy of errors. Each subclass also inherits the matching builtin.

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

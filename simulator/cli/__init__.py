"""The ``madad`` command line: ``run``, ``validate``, ``compare``, ``export``, ``scenario``,
``registry``, ``hazard`` and ``exchange`` command groups (``madad --help``)."""

import sys
from pathlib import Path

from simulator import digests


def _registry_argument(argv: list[str]) -> str | None:
    """The ``--registry`` file of a ``madad run`` command line, read before the command's modules
    are imported (about a second), so that :func:`simulator.digests.hash_ahead` can hash it
    meanwhile; None for any other command line."""
    if len(argv) < 3 or Path(argv[0]).name != "madad" or argv[1] != "run":
        return None
    for i, arg in enumerate(argv[2:], start=2):
        if arg == "--registry" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--registry="):
            return arg.split("=", 1)[1]
    return None


if (_registry := _registry_argument(sys.argv)) is not None:
    digests.hash_ahead(_registry)

from simulator.cli.main import app  # noqa: E402 - after the registry's hash is started

__all__ = ["app"]

"""The ``madad`` command line: ``run``, ``validate``, ``compare``, ``export``, ``scenario``,
``registry``, ``hazard`` and ``exchange`` command groups (``madad --help``)."""

from simulator.cli.main import app

__all__ = ["app"]

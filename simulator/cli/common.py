"""What every ``madad`` command group shares: how a group is made and how a refusal ends."""

from __future__ import annotations

from typing import NoReturn

import typer

#: Exit code for input that cannot be used (a bad file, scenario, package or parameter).
EXIT_BAD_INPUT = 2


def command_group(help_text: str) -> typer.Typer:
    """A typer app for a ``madad`` command group: help when called bare, plain tracebacks off."""
    return typer.Typer(help=help_text, no_args_is_help=True, add_completion=False,
                       pretty_exceptions_enable=False)


def fail(problem: object, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print ``error: problem`` on stderr and exit with ``code`` (2: bad input)."""
    typer.secho(f"error: {problem}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def write_json(report: dict, path) -> None:
    """Write a command's report as indented JSON to ``path`` and say so."""
    import json

    path.write_text(json.dumps(report, indent=2) + "\n")
    typer.echo(f"wrote {path}")

"""Every command and group of `hazina` answers `--help` with its usage and a description."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from hazina.cli.main import app


def command_paths() -> list[tuple[str, ...]]:
    """Every command and group below the root, as the words that name it."""
    paths: list[tuple[str, ...]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        if path:
            paths.append(path)
        for name, child in getattr(command, "commands", {}).items():  # a group's commands
            walk(child, (*path, name))

    walk(typer.main.get_command(app), ())
    return paths


PATHS = command_paths()


def test_the_tree_holds_every_area() -> None:
    groups = {path[0] for path in PATHS}
    assert {"ledger", "risk", "credit", "loans", "cbdc", "webhooks", "assist"} <= groups
    assert {("serve",), ("demo",), ("simulate",), ("ledger", "verify")} <= set(PATHS)
    assert len(PATHS) > 40


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(path) for path in PATHS])
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert f"Usage: hazina {' '.join(path)}" in " ".join(result.output.split())
    described: Any = typer.main.get_command(app)
    for name in path:
        described = described.commands[name]
    assert (described.help or "").strip(), f"{' '.join(path)} has no description"

"""Meta-tests: every command has help with an example and is documented in the README."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from engine.cli import cli

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, cmd in group.commands.items():
        path = (*prefix, name)
        out.append(path)
        if isinstance(cmd, click.Group):
            out.extend(_commands(cmd, path))
    return out


COMMANDS = _commands(cli)


def test_top_level_help() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0 and "Examples:" in result.output


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_command_has_help_with_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"`engine {' '.join(path)} --help` shows no example"


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_command_is_in_readme(path: tuple[str, ...]) -> None:
    assert f"engine {' '.join(path)}" in README, f"README does not mention `engine {' '.join(path)}`"


def test_help_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys; from engine.cli import cli; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_load_cli_batch_default_matches_loader() -> None:
    from engine.cli.load import load
    from loader.ingest import DEFAULT_BATCH_SIZE

    option = next(p for p in load.params if p.name == "batch_size")
    assert option.default == DEFAULT_BATCH_SIZE

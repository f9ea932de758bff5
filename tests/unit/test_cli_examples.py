"""Every ``engine ...`` example line of ``--help``, of the README and of ``docs/*.md`` names
commands, options, models and model parameters that exist, with values the options accept.

Each line is parsed by click exactly as the shell would pass it (``shlex``), without running
the command; a path that need not exist on this machine (``runs/RUN_ID``, ``my.zip``) is the
only error tolerated.
"""

from __future__ import annotations

import re
import shlex
import warnings
from pathlib import Path

import click
import pytest

from engine.cli import cli
from engine.models import DEFAULT_MODEL, MODELS

ROOT = Path(__file__).resolve().parents[2]


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, cmd in group.commands.items():
        out.append((*prefix, name))
        if isinstance(cmd, click.Group):
            out.extend(_commands(cmd, (*prefix, name)))
    return out


def _resolve(path: tuple[str, ...]) -> click.Command:
    cmd: click.Command = cli
    for part in path:
        assert isinstance(cmd, click.Group)
        cmd = cmd.commands[part]
    return cmd


def help_examples() -> list[tuple[str, str]]:
    """``(where, line)`` of every ``engine ...`` line in every command's help."""
    out = []
    for path in [(), *_commands(cli)]:
        cmd = _resolve(path)
        for line in (cmd.help or "").splitlines():
            text = line.strip()
            if text.startswith(("engine ", "NEO4J_")) and "engine " in text:
                out.append((f"engine {' '.join(path)} --help", text))
    return out


def documents() -> list[Path]:
    """The pages whose ``engine ...`` code-block lines are checked: the README and every docs page."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _block_examples(path: Path) -> list[tuple[str, str]]:
    """``(where, line)`` of every ``engine ...`` command line in ``path``'s shell code blocks."""
    where = path.relative_to(ROOT).as_posix()
    text = path.read_text(encoding="utf-8")
    out = []
    for lang, block in re.findall(r"```([a-z]*)\n(.*?)```", text, flags=re.S):
        if lang not in ("", "bash", "sh", "console"):
            continue  # a python or cypher block
        for line in block.splitlines():
            stripped = line.strip()
            if re.match(r"^([A-Z][A-Z0-9_]*=\S+\s+)*(\.venv/bin/)?engine\s", stripped):
                out.append((where, stripped))
    return out


def readme_examples() -> list[tuple[str, str]]:
    """``(where, line)`` of every ``engine ...`` command line in the code blocks of the README
    and of every ``docs/*.md`` page; ``where`` names the file (``README.md``, ``docs/training.md``)."""
    return [example for path in documents() for example in _block_examples(path)]


EXAMPLES = help_examples() + readme_examples()


def _split(line: str) -> list[str]:
    line = line.split(" && ")[0]
    args = shlex.split(line, comments=True)
    while args and re.fullmatch(r"[A-Z][A-Z0-9_]*=\S*", args[0]):
        args.pop(0)
    assert args and args[0].endswith("engine"), line
    return args[1:]


def _check_models(args: list[str]) -> None:
    model = DEFAULT_MODEL
    for flag, value in zip(args, args[1:], strict=False):
        if flag == "--model":
            assert value in MODELS, f"no model {value!r}"
            model = value
    known = set(MODELS[model].param_names())
    for flag, value in zip(args, args[1:], strict=False):
        if flag == "--param":
            name = value.partition("=")[0]
            assert name in known, f"{model} has no parameter {name!r}"


@pytest.mark.parametrize(("where", "line"), EXAMPLES, ids=[f"{w}: {ln}" for w, ln in EXAMPLES])
def test_example_parses(where: str, line: str) -> None:
    args = _split(line)
    cmd: click.Command = cli
    ctx: click.Context | None = None
    name = "engine"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        while True:
            try:
                ctx = cmd.make_context(name, list(args), parent=ctx)
            except click.BadParameter as exc:
                if "does not exist" in str(exc):
                    return  # a placeholder path (runs/RUN_ID, my.zip): the option itself exists
                raise AssertionError(f"{where}: {line!r}: {exc.format_message()}") from exc
            except click.UsageError as exc:
                raise AssertionError(f"{where}: {line!r}: {exc.format_message()}") from exc
            if not isinstance(cmd, click.Group):
                break
            rest = [*ctx._protected_args, *ctx.args]
            if not rest:
                break
            name, args = rest[0], rest[1:]
            sub = cmd.get_command(ctx, name)
            assert sub is not None, f"{where}: {line!r}: no command {name!r}"
            cmd = sub
    _check_models(_split(line))


def test_there_are_examples_everywhere() -> None:
    examples = readme_examples()
    per_file: dict[str, int] = {}
    for where, _ in examples:
        per_file[where] = per_file.get(where, 0) + 1
    assert len(help_examples()) >= 25
    assert per_file.get("README.md", 0) >= 15, per_file
    # the command pages each show their commands in code blocks that this test parses
    for page in ("loading", "training", "evaluation", "recommendations", "live-updates", "browser"):
        assert per_file.get(f"docs/{page}.md", 0) >= 2, f"docs/{page}.md: {per_file}"
    assert len(examples) >= 50, per_file

"""Issue 11 item 7: every failure in the issue's table is one line with a remedy, never a traceback.

Each case runs the real ``engine`` command; failures that need a server (Neo4j dying
mid-load or mid-train, the authentication rate limit) are injected where the driver would
raise them. The meta-test at the end runs every case and asserts that no exception escapes
the CLI's error edge (CliRunner would show it as ``result.exception``) and that nothing
prints "Traceback"; ``-vv`` is the only way to get one.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from neo4j.exceptions import IncompleteCommit, Neo4jError, ServiceUnavailable

from engine.cli import cli

FIXTURES = Path(__file__).parents[1] / "fixtures" / "movielens"
BIG = str(2**63)
NOWHERE = "bolt://127.0.0.1:9"  # nothing listens: a command that connects fails at once


def rate_limit() -> Neo4jError:
    return Neo4jError._basic_hydrate(
        neo4j_code="Neo.ClientError.Security.AuthenticationRateLimit",
        message="The client has provided incorrect authentication details too many times in a row.")


def bad_crc_zip(folder: Path) -> Path:
    archive = folder / "ml-latest-small.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for path in sorted((FIXTURES / "ml-latest-small").iterdir()):
            zf.writestr(f"ml-latest-small/{path.name}", path.read_bytes())
    raw = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("ml-latest-small/ratings.csv")
    raw[info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 40] ^= 0x55
    archive.write_bytes(bytes(raw))
    return archive


def _raise(exc: BaseException) -> Callable[..., Any]:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise exc
    return boom


class FakeDriver:
    """A driver whose first call is refused by the server's rate limit."""

    def verify_connectivity(self) -> None:
        raise rate_limit()

    def close(self) -> None:
        pass


@dataclass
class Case:
    id: str
    args: list[str]
    code: int
    says: str
    patch: Callable[[pytest.MonkeyPatch, Path], None] | None = None
    files: Callable[[Path], dict[str, str]] = field(default=lambda tmp: {})


def _load_dies(mp: pytest.MonkeyPatch, tmp: Path) -> None:
    mp.setattr("engine.jobs.load.load", _raise(IncompleteCommit("Connection failed during commit")))


def _train_dies(mp: pytest.MonkeyPatch, tmp: Path) -> None:
    mp.setattr("engine.jobs.train.train", _raise(ServiceUnavailable("Failed to read from defunct "
                                                                    "connection\nsecond line")))


def _rate_limited(mp: pytest.MonkeyPatch, tmp: Path) -> None:
    mp.setattr("engine.graphdb.driver.GraphDatabase.driver", lambda *a, **k: FakeDriver())


@contextmanager
def _no_driver(settings: Any) -> Iterator[object]:
    yield object()


def _overflow_deep(mp: pytest.MonkeyPatch, tmp: Path) -> None:
    mp.setattr("engine.graphdb.open_driver", _no_driver)
    mp.setattr("engine.graphdb.reader.Reader.recommend", _raise(OverflowError("Integer out of range")))


CASES = [
    Case("load-neo4j-dies", ["load", "--no-progress"], 1,
         "a load resumes after its last committed batch", _load_dies),
    Case("train-neo4j-dies", ["train", "--no-progress"], 1,
         "re-run the same command once the server is back", _train_dies),
    Case("load-bad-crc", ["load", "--path", "{tmp}/ml-latest-small.zip"], 2,
         "ratings.csv:0: corrupt zip member", None, lambda tmp: {"zip": str(bad_crc_zip(tmp))}),
    Case("load-rejects-missing-folder", ["load", "--on-error", "skip", "--rejects",
                                         "{tmp}/no/such/folder/rejects.csv"], 2,
         "does not exist"),
    Case("recommend-user-2^63", ["recommend", "--user", BIG], 2, "--user"),
    Case("recommend-k-2^63", ["recommend", "--user", "1", "-k", BIG], 2, "-k"),
    Case("explain-movie-2^63", ["explain", "--user", "1", "--movie", BIG], 2, "--movie"),
    Case("similar-movie-2^63", ["similar", "--movie", BIG], 2, "--movie"),
    Case("viz-user-2^63", ["viz", "--user", BIG], 2, "--user"),
    Case("train-sample-users-2^63", ["train", "--sample-users", BIG], 2, "--sample-users"),
    Case("overflow-deep-in-a-command", ["recommend", "--user", "1"], 2,
         "a number is out of range", _overflow_deep),
    Case("train-top-k-0", ["train", "--top-k", "0"], 2, "--top-k"),
    Case("train-keep-runs-0", ["train", "--keep-runs", "0"], 2, "--keep-runs"),
    Case("writeback-keep-runs-0", ["writeback", "{tmp}", "--keep-runs", "0"], 2, "--keep-runs"),
    Case("recommend-min-score-nan", ["recommend", "--user", "1", "--min-score", "nan"], 2,
         "is not a finite number"),
    Case("viz-min-score-inf", ["viz", "--min-score", "inf"], 2, "is not a finite number"),
    Case("train-min-rating-nan", ["train", "--min-rating", "nan"], 2, "is not a finite number"),
    Case("auth-rate-limit", ["recommend", "--user", "1"], 1, "AuthenticationRateLimit",
         _rate_limited),
    Case("param-epochs-negative", ["train", "--model", "bpr_mf", "--param", "epochs=-1"], 2,
         "parameter epochs=-1 must be >= 1"),
    Case("param-reg-nan", ["train", "--no-tune", "--param", "reg=nan"], 2,
         "parameter reg=nan must be a finite number"),
    Case("param-unknown-name", ["train", "--param", "nosuch=1"], 2, "has no parameter nosuch"),
]


def run(case: Case, tmp: Path, mp: pytest.MonkeyPatch, *extra: str) -> Result:
    if case.patch is not None:
        case.patch(mp, tmp)
    case.files(tmp)
    args = [a.replace("{tmp}", str(tmp)) for a in case.args]
    env = {"NEO4J_URI": NOWHERE, "NEO4J_PASSWORD": "x"}
    return CliRunner(env=env).invoke(cli, [*extra, *args])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_each_failure_is_one_line_with_its_exit_code(case: Case, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    result = run(case, tmp_path, monkeypatch)
    assert result.exit_code == case.code, (case.id, result.output)
    assert case.says in result.output, (case.id, result.output)
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, (case.id, result.output)


def test_meta_no_case_escapes_the_error_edge_or_prints_a_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i, case in enumerate(CASES):
        with monkeypatch.context() as mp:
            folder = tmp_path / str(i)
            folder.mkdir()
            result = run(case, folder, mp)
        assert isinstance(result.exception, SystemExit), (case.id, repr(result.exception))
        assert "Traceback" not in result.output, case.id
        assert result.exit_code in (1, 2), case.id


def test_only_vv_shows_the_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = next(c for c in CASES if c.id == "load-neo4j-dies")
    result = run(case, tmp_path, monkeypatch, "-vv")
    assert isinstance(result.exception, IncompleteCommit)


def test_a_real_process_prints_no_traceback() -> None:
    """Outside CliRunner too: the console entry point, stderr included."""
    proc = subprocess.run([sys.executable, "-m", "engine.cli", "recommend", "--user", BIG],
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr
    proc = subprocess.run([sys.executable, "-m", "engine.cli", "--uri", NOWHERE, "train",
                           "--param", "nosuch=1"], capture_output=True, text=True, check=False,
                          timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    assert "has no parameter nosuch" in proc.stderr

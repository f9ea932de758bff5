"""Test-session rules shared by both tiers.

Under ``CI=true`` the integration tier must RUN: a skipped or deselected test in
``tests/integration`` fails the session (a silent skip would hide a missing Neo4j).
"""

from __future__ import annotations

import os

import pytest

_IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_skipped_integration: list[str] = []
_deselected_integration: list[str] = []


def _is_integration(nodeid: str) -> bool:
    return nodeid.replace("\\", "/").startswith("tests/integration/") or "/integration/" in nodeid


def pytest_deselected(items: list[pytest.Item]) -> None:
    _deselected_integration.extend(i.nodeid for i in items if _is_integration(i.nodeid))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and _is_integration(report.nodeid):
        _skipped_integration.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _IN_CI:
        return
    bad = [f"skipped: {n}" for n in _skipped_integration]
    bad += [f"deselected: {n}" for n in _deselected_integration]
    if bad:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("=", "CI=true: Neo4j integration tests must run", red=True)
            for line in bad:
                reporter.write_line(line)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

"""Every .cypher file runs on the real server with the parameters its header's `:param` gives.

Neo4j itself parses the example: the literal after `:param` is evaluated with
`RETURN <literal>`, exactly what Neo4j Browser does. Writes are rolled back.

Each file also runs with the numbers Neo4j Browser really sends: Browser keeps the numbers of
the map form `:param {k: 10}` as JavaScript numbers, so they arrive as FLOATS (10.0), while
`:param k => 10` keeps an integer (tests/integration/test_browser_ui.py checks the same in
the real Browser UI). Statements
with ``CALL { ... } IN TRANSACTIONS`` (the wipe) cannot run in an explicit transaction and
would commit: they are planned with ``EXPLAIN`` in an auto-commit transaction instead.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from engine.graphdb import queries


def as_browser_sends(value: Any) -> Any:
    """``value`` with every integer turned into a float, as Browser's map-form ``:param`` does."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, list):
        return [as_browser_sends(v) for v in value]
    if isinstance(value, dict):
        return {k: as_browser_sends(v) for k, v in value.items()}
    return value


def param_lines(text: str) -> list[str]:
    """The ``:param ...`` commands of a header's Example, as a person pastes them into Browser."""
    found = []
    for line in queries.Query("", text).header.splitlines():
        m = re.match(r"//\s+(:param\s+.*)$", line)
        if m:
            found.append(m.group(1).strip())
    return found


def evaluate_param(driver, command: str, *, browser: bool = False) -> dict:  # type: ignore[no-untyped-def]
    """The parameters one ``:param`` command sets (``browser``: with Browser's number types)."""
    expr = command[len(":param"):].strip()
    single = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\s*=>\s*(.*)$", expr)
    literal = f"{{{single.group(1)}: {single.group(2)}}}" if single else expr
    records, _, _ = driver.execute_query(f"RETURN {literal} AS p")
    params = dict(records[0]["p"])
    return as_browser_sends(params) if browser and not single else params


def apply_param(driver, params: dict, command: str) -> dict:  # type: ignore[no-untyped-def]
    """The parameters after Browser runs ``command``: a map replaces them all, ``x => ...`` sets one."""
    value = evaluate_param(driver, command, browser=True)
    return {**params, **value} if "=>" in command.split("{", 1)[0] else value


def example_params(driver, text: str, *, browser: bool = False) -> dict:  # type: ignore[no-untyped-def]
    params: dict = {}
    for command in param_lines(text):
        params.update(evaluate_param(driver, command, browser=browser))
    return params


@pytest.mark.parametrize("numbers", ["driver", "browser"])
@pytest.mark.parametrize("name", queries.names())
def test_example_runs(name: str, numbers: str, driver) -> None:  # type: ignore[no-untyped-def]
    q = queries.get(name)
    params = example_params(driver, q.text, browser=numbers == "browser")
    assert set(params) == queries.used_params(q.text)
    # The GDS graph catalog is not transactional (a rolled-back projection stays): plan those
    # only; tests/integration/test_gds.py runs them for real.
    if "IN TRANSACTIONS" in q.body or name.startswith("gds/"):
        with driver.session() as session:
            session.run(f"EXPLAIN {q.body}", params).consume()
        return
    with driver.session() as session:
        tx = session.begin_transaction()
        try:
            tx.run(q.text, params).consume()
        finally:
            tx.rollback()

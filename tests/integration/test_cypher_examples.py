"""Every .cypher file runs on the real server with the parameters its header's `:param` gives.

Neo4j itself parses the example: the literal after `:param` is evaluated with
`RETURN <literal>`, exactly what Neo4j Browser does. Writes are rolled back. Statements
with ``CALL { ... } IN TRANSACTIONS`` (the wipe) cannot run in an explicit transaction and
would commit: they are planned with ``EXPLAIN`` in an auto-commit transaction instead.
"""

from __future__ import annotations

import re

import pytest

from engine.graphdb import queries


def example_params(driver, text: str) -> dict:  # type: ignore[no-untyped-def]
    params: dict = {}
    for line in queries.Query("", text).header.splitlines():
        m = re.match(r"//\s+:param\s+(.*)$", line)
        if not m:
            continue
        expr = m.group(1).strip()
        single = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\s*=>\s*(.*)$", expr)
        literal = f"{{{single.group(1)}: {single.group(2)}}}" if single else expr
        records, _, _ = driver.execute_query(f"RETURN {literal} AS p")
        params.update(records[0]["p"])
    return params


@pytest.mark.parametrize("name", queries.names())
def test_example_runs(name: str, driver) -> None:  # type: ignore[no-untyped-def]
    q = queries.get(name)
    params = example_params(driver, q.text)
    assert set(params) == queries.used_params(q.text)
    if "IN TRANSACTIONS" in q.body:
        with driver.session() as session:
            session.run(f"EXPLAIN {q.body}", params).consume()
        return
    with driver.session() as session:
        tx = session.begin_transaction()
        try:
            tx.run(q.text, params).consume()
        finally:
            tx.rollback()

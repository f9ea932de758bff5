"""Every .cypher file: one statement, a header with purpose/params/example, params documented."""

from __future__ import annotations

import re

import pytest

from engine.graphdb import queries

ALL = queries.names()


def test_library_is_not_empty() -> None:
    assert len(ALL) >= 15
    assert "load/ratings_create" in ALL


@pytest.mark.parametrize("name", ALL)
def test_header_documents_exactly_the_params_used(name: str) -> None:
    q = queries.get(name)
    assert q.header.startswith("// Purpose: "), f"{name}: header must start with '// Purpose:'"
    assert "// Params:" in q.header and "// Example:" in q.header
    assert queries.header_params(q.text) == queries.used_params(q.text), name
    for param in queries.used_params(q.text):
        assert re.search(rf":param (\{{[^}}]*\b{param}:|{param} =>)", q.header), (
            f"{name}: the :param example does not set ${param}"
        )


@pytest.mark.parametrize("name", ALL)
def test_one_statement_per_file(name: str) -> None:
    body = queries.get(name).body
    assert body, name
    # A ';' outside string literals would separate two statements.
    assert ";" not in re.sub(r"'(?:[^'\\]|\\.)*'", "''", body), name


def test_used_params_ignore_comments_and_strings() -> None:
    text = "// $notme\nMATCH (n {x: '$nope'}) WHERE n.a = $yes RETURN $also // $no"
    assert queries.used_params(text) == {"yes", "also"}


def test_unknown_query_name_is_explained() -> None:
    with pytest.raises(queries.QueryNotFoundError, match="no Cypher file named 'nope/x'"):
        queries.get("nope/x")

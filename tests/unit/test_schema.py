"""engine/schema.py names exactly what the graph uses: every label, type and property it declares
is used by the ``cypher/`` files, and those use no label or relationship type it does not declare."""

from __future__ import annotations

import re
from pathlib import Path

from engine.graphdb import queries
from engine.schema import SLOTS, UNIQUE_KEYS, Label, Prop, Rel

ROOT = Path(__file__).resolve().parents[2]
BODIES = {name: queries.get(name).body for name in queries.names()}
ALL = "\n".join(BODIES.values())
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def _declared(cls: type) -> set[str]:
    return {v for k, v in vars(cls).items() if k.isupper()}


def _code(text: str) -> str:
    return _STRING.sub("''", text)


def test_cypher_uses_only_declared_labels_and_types() -> None:
    labels, types = set(), set()
    for body in BODIES.values():
        code = _code(body)
        labels |= set(re.findall(r"\(\s*\w*\s*:\s*([A-Z][A-Za-z]*)", code))
        labels |= set(re.findall(r"FOR \(\w+:([A-Z][A-Za-z]*)\)", code))
        types |= set(re.findall(r"\[\s*\w*\s*:\s*([A-Z_]+)\b", code))
    assert labels <= _declared(Label), labels - _declared(Label)
    assert types <= _declared(Rel), types - _declared(Rel)


def test_every_declared_name_is_used() -> None:
    code = _code(ALL)
    for label in _declared(Label):
        assert re.search(rf":{label}\b", code), f"Label {label} is used by no statement"
    for rel in _declared(Rel):
        assert re.search(rf":{rel}\b", code), f"Rel {rel} is used by no statement"
    for prop in _declared(Prop):
        assert re.search(rf"\b{prop}\b", code), f"Prop {prop} is used by no statement"


def test_constraints_match_unique_keys() -> None:
    files = {n for n in BODIES if n.startswith("schema/constraint_")}
    assert files == {f"schema/constraint_{label.lower()}" for _, label, _ in UNIQUE_KEYS}
    for name, label, key in UNIQUE_KEYS:
        body = BODIES[f"schema/constraint_{label.lower()}"]
        assert f"CREATE CONSTRAINT {name} IF NOT EXISTS" in body
        assert re.search(rf"FOR \(\w+:{label}\) REQUIRE \w+\.{key} IS UNIQUE", body)


def test_embedding_slots_match_their_index_statements() -> None:
    for slot in SLOTS.values():
        for label, index in (("User", slot.user_index), ("Movie", slot.movie_index)):
            body = BODIES[f"writeback/vector_index_{label.lower()}_{slot.name}"]
            assert f"CREATE VECTOR INDEX {index} IF NOT EXISTS" in body
            assert f"FOR (n:{label})" in body and f"ON n.{slot.property}" in body

"""OpenGDS as an optional plugin, and the gds_fastrp model (its FastRP backend faked in numpy).

The real plugin and the real ``gds.fastRP`` are exercised by tests/integration/test_gds.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.data.interactions import Interactions
from engine.db import runtime
from engine.db.server import LocalServer
from engine.errors import ParameterError
from engine.graphdb.gds import GdsSession, GdsUnavailableError
from engine.jobs.gds import graph_for_model
from engine.models import load_model, make_model
from engine.models.gds_fastrp import GdsFastRP
from engine.settings import ServerSettings
from tests.unit._fastrp import NumpyFastRP


# ----------------------------------------------------------------------------- the plugin
def test_unknown_plugin_is_one_line() -> None:
    with pytest.raises(runtime.RuntimeSetupError, match="unknown plugin 'gsd': expected one of gds"):
        runtime.check_plugins(("gsd",))


def test_plugins_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REELGRAPH_PLUGINS", "gds, gds")
    assert ServerSettings.from_env(tmp_path).plugins == ("gds",)
    assert ServerSettings.from_env(tmp_path, plugins=()).plugins == ()
    monkeypatch.delenv("REELGRAPH_PLUGINS")
    assert ServerSettings.from_env(tmp_path).plugins == ()


def _fake_runtime(tmp_path: Path) -> runtime.Runtime:
    root = tmp_path / "neo4j-x"
    for folder, jars in (("lib", ["neo4j-values-5.26.19.jar", "annotations-5.26.19.jar",
                                  "jackson-core-2.18.0.jar"]),
                         ("plugins", ["apoc-core-5.26.19.jar", "commons-text-1.12.0.jar"])):
        (root / folder).mkdir(parents=True)
        for jar in jars:
            (root / folder / jar).write_text(jar)
    return runtime.Runtime("java", 17, root / "lib", root / "plugins")


def test_plugin_jars_dedupe_and_link(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Server jars win over a plugin's third-party copies; the plugin's own modules stay."""
    fetched = ["proc-2.13.9.jar", "annotations-2.13.9.jar", "neo4j-values-2.13.9.jar",
               "jackson-core-2.18.6.jar", "commons-text-1.14.0.jar", "hppc-0.7.3.jar"]
    calls = []

    def fake_copy(mvn: str, pom_text: str, out: Path, workdir: Path) -> None:
        calls.append(pom_text)
        out.mkdir(parents=True)
        for jar in fetched:
            (out / jar).write_text(jar)

    monkeypatch.setattr(runtime, "_mvn_copy", fake_copy)
    monkeypatch.setattr(runtime, "find_maven", lambda: "mvn")
    base = _fake_runtime(tmp_path)
    rt = runtime.with_plugins(base, ("gds",))
    assert len(calls) == 1 and "<artifactId>opengds-extension</artifactId>" in calls[0]
    own = sorted(p.name for p in (base.lib.parent / "plugins-gds").glob("*.jar"))
    assert own == ["annotations-2.13.9.jar", "hppc-0.7.3.jar", "neo4j-values-2.13.9.jar",
                   "proc-2.13.9.jar"]
    assert rt.plugins.name == "plugins+gds"
    linked = sorted(p.name for p in rt.plugins.glob("*.jar"))
    assert linked == sorted(["apoc-core-5.26.19.jar", "commons-text-1.12.0.jar", *own])
    assert (rt.plugins / "proc-2.13.9.jar").stat().st_ino == \
        (base.lib.parent / "plugins-gds" / "proc-2.13.9.jar").stat().st_ino  # a hard link
    assert rt.classpath.startswith(f"{rt.plugins}/*")
    runtime.with_plugins(base, ("gds",))
    assert len(calls) == 1  # cached: no second fetch
    assert runtime.with_plugins(base, ()) is base


def test_conf_allows_plugin_procedures(tmp_path: Path) -> None:
    server = LocalServer(ServerSettings(tmp_path / "d", 1, 2, plugins=("gds",)))
    server._write_conf(_fake_runtime(tmp_path))
    conf = (tmp_path / "d" / "conf" / "neo4j.conf").read_text()
    assert "dbms.security.procedures.unrestricted=apoc.*,gds.*" in conf
    assert "127.0.0.1" in conf


def test_gds_pom_names_the_release_line() -> None:
    text = runtime._pom_text("gds-pom.xml")
    assert "<gds.version>2.13.9</gds.version>" in text and "GPLv3" in text
    assert "--" not in text.split("<!--", 1)[1].split("-->", 1)[0]  # legal XML comment


class _NoGdsDriver:
    """A driver double whose server lacks the plugin (unit tier: no server)."""

    def session(self, **_kw: Any) -> Any:
        import neo4j

        class _Session:
            def __enter__(self) -> _Session:
                return self

            def __exit__(self, *exc: object) -> None:
                return None

            def run(self, *_a: Any, **_k: Any) -> Any:
                raise neo4j.exceptions.ClientError("Unknown function 'gds.version'")

        return _Session()


def test_missing_plugin_is_one_line() -> None:
    with pytest.raises(GdsUnavailableError, match=r"engine db start --plugins gds") as info:
        GdsSession(_NoGdsDriver()).version()  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


# ----------------------------------------------------------------------------- the model
def _train() -> Interactions:
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(40), 8)
    items = np.concatenate([rng.choice(30, 8, replace=False) for _ in range(40)])
    return Interactions(user=users.astype(np.int32), item=items.astype(np.int32),
                        rating=rng.choice([1.0, 3.0, 5.0], len(users)).astype(np.float32),
                        timestamp=np.arange(len(users), dtype=np.int64), num_users=40,
                        num_items=30)


def test_fit_projects_exactly_the_train_pairs() -> None:
    train, backend = _train(), NumpyFastRP()
    model = GdsFastRP(dim=16, iteration_weights="0,1,1")
    model.fit(train, None, backend)
    call = backend.calls[0]
    assert call["num_nodes"] == 70
    np.testing.assert_array_equal(call["source"], train.user)
    np.testing.assert_array_equal(call["target"], 40 + train.item)  # movies after the users
    np.testing.assert_allclose(call["weight"], train.rating / 5.0)
    assert call["config"]["iterationWeights"] == [0.0, 1.0, 1.0]
    assert call["config"]["relationshipWeightProperty"] == "weight"


def test_item_scoring_is_the_profile_of_unit_item_vectors() -> None:
    train, backend = _train(), NumpyFastRP()
    model = GdsFastRP(dim=16)
    model.fit(train, None, backend)
    items = model.item_vectors / np.linalg.norm(model.item_vectors, axis=1, keepdims=True)
    seen = train.to_csr(binary=True).toarray()
    np.testing.assert_allclose(model.score(np.arange(40)), seen @ items @ items.T, rtol=1e-4,
                               atol=1e-5)
    users, items_emb = model.embeddings()
    np.testing.assert_allclose(users @ items_emb.T, model.score(np.arange(40)), rtol=1e-4, atol=1e-5)
    top, _ = model.recommend(np.arange(40), k=5)
    assert not seen[np.arange(40)[:, None], top].any()  # seen excluded


def test_dot_scoring_uses_the_users_vectors(tmp_path: Path) -> None:
    train, backend = _train(), NumpyFastRP()
    model = GdsFastRP(dim=16, scoring="dot", weight="binary")
    model.fit(train, None, backend)
    assert np.all(backend.calls[0]["weight"] == 1.0)
    vectors = backend.fastrp(train.user, 40 + train.item, np.ones(len(train)), 70, model.config())
    np.testing.assert_allclose(model.score(np.arange(3)), vectors[:3] @ vectors[40:].T, rtol=1e-5)
    model.save(tmp_path / "m")
    again = load_model(tmp_path / "m")
    np.testing.assert_allclose(again.score(np.arange(40)), model.score(np.arange(40)))


def test_fold_in_matches_the_fitted_users() -> None:
    train, backend = _train(), NumpyFastRP()
    model = GdsFastRP(dim=16)
    model.fit(train, None, backend)
    live = model.fold_in(train)
    np.testing.assert_allclose(live.score(np.arange(40)), model.score(np.arange(40)), rtol=1e-5)


def test_fit_without_the_database_is_one_line() -> None:
    with pytest.raises(ParameterError, match="gds_fastrp computes FastRP in Neo4j"):
        GdsFastRP().fit(_train(), None, None)


@pytest.mark.parametrize("params, match", [
    ({"iteration_weights": "0,a"}, "iteration_weights"),
    ({"iteration_weights": "0,0"}, "not all zero"),
    ({"scoring": "cosine"}, "scoring"),
    ({"dim": 2}, "dim"),
    ({"normalization_strength": 3}, "normalization_strength"),
])
def test_bad_params(params: dict[str, Any], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        make_model("gds_fastrp", params)


def test_fastrp_features_need_a_graph_model() -> None:
    with pytest.raises(ParameterError, match="--fastrp-features adds node features"):
        graph_for_model("ease", object(), None, fastrp_features=16)  # type: ignore[arg-type]
    assert graph_for_model("ease", object(), None) is None  # type: ignore[arg-type]

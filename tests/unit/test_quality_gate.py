"""Issue 11 item 3 (pure part): the quality gate, and parameters that fail before any export."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

import engine.jobs.train as train_job
from engine.data.interactions import IdMap
from engine.errors import ParameterError
from engine.graphdb.writeback import write_back
from engine.settings import Neo4jSettings
from engine.writeback import RunOutput, load_run_output, save_run_output
from engine.writeback.gate import QualityGateError, check_gate, gate_record

SETTINGS = Neo4jSettings(uri="bolt://127.0.0.1:9", user="neo4j", password="x")


def test_gate_record_ranking_rating_and_the_baseline_itself() -> None:
    assert gate_record("ease", "ranking", {"ndcg@10": 0.30}, 0.25, "popularity")["passed"]
    assert not gate_record("ease", "ranking", {"ndcg@10": 0.20}, 0.25, "popularity")["passed"]
    assert not gate_record("ease", "ranking", {"ndcg@10": 0.25}, 0.25, "popularity")["passed"]
    assert not gate_record("ease", "ranking", {"ndcg@10": float("nan")}, 0.25, "popularity")["passed"]
    assert not gate_record("ease", "ranking", {}, 0.25, "popularity")["passed"]
    assert gate_record("popularity", "ranking", {"ndcg@10": 0.25}, 0.25, "popularity")["passed"]
    rating = gate_record("i_autorec", "rating", {"rating_rmse": 0.9}, 1.15, "global mean")
    assert rating["passed"] and rating["metric"] == "rating_rmse" and not rating["higherIsBetter"]
    assert not gate_record("i_autorec", "rating", {"rating_rmse": 1.2}, 1.15, "global mean")["passed"]


def test_a_stored_pass_is_rechecked_against_its_numbers() -> None:
    """Issue 29 item 5: a gate record saying passed with a NaN metric (or beaten) is refused."""
    good = gate_record("ease", "ranking", {"ndcg@10": 0.30}, 0.25, "popularity")
    check_gate({"gate": good}, "r1", model="ease")
    for forged in ({**good, "value": float("nan")}, {**good, "value": 0.1},
                   {**good, "baselineValue": float("nan")}):
        with pytest.raises(QualityGateError, match="was not made current"):
            check_gate({"gate": forged}, "r1", model="ease")
    base = gate_record("popularity", "ranking", {"ndcg@10": 0.25}, 0.25, "popularity")
    check_gate({"gate": base}, "r1", model="popularity")  # the baseline itself passes
    with pytest.raises(QualityGateError, match="not a finite number"):
        check_gate({"gate": {**base, "value": float("nan")}}, "r1", model="popularity")


def test_check_gate_refuses_unless_forced() -> None:
    bad = {"gate": gate_record("ease", "ranking", {"ndcg@10": 0.0}, 0.25, "popularity")}
    with pytest.raises(QualityGateError, match=r"ndcg@10 0\.0000 does not beat popularity's 0\.2500"):
        check_gate(bad, "r1")
    check_gate(bad, "r1", force=True)
    nan = {"gate": gate_record("graph_filter", "ranking", {"ndcg@10": float("nan")}, 0.2, "popularity")}
    with pytest.raises(QualityGateError, match="not a finite number"):
        check_gate(nan, "r2")
    with pytest.raises(QualityGateError, match="not a finite number"):  # a run saved before gates
        check_gate({"valid": {"ndcg@10": float("nan")}}, "r3")
    check_gate({"valid": {"ndcg@10": 0.1}}, "r4")
    check_gate({"note": "built by hand"}, "r5")  # nothing to gate on


def _output(metrics: dict) -> RunOutput:
    idmap = IdMap(users=np.arange(1, 4, dtype=np.int64), movies=np.arange(1, 6, dtype=np.int64))
    return RunOutput(run_id="g1", model="ease", params={}, metrics=metrics, dataset="d",
                     git_sha=None, idmap=idmap, user_emb=None, item_emb=None,
                     rec_items=np.array([[0, 1], [1, 2], [2, 3]]),
                     rec_scores=np.ones((3, 2), dtype=np.float32),
                     binding={"name": "d", "md5": None, "fingerprint": "f", "status": "complete",
                              "counts": {"users": 3, "movies": 5, "ratings": 9}})


def test_write_back_refuses_a_failed_run_before_touching_the_graph() -> None:
    out = _output({"gate": gate_record("ease", "ranking", {"ndcg@10": 0.0}, 0.3, "popularity")})
    with pytest.raises(QualityGateError, match="was not made current"):
        write_back(object(), out)  # type: ignore[arg-type]  # no driver call happens


def test_the_binding_is_saved_with_the_run(tmp_path: Path) -> None:
    out = _output({})
    again = load_run_output(save_run_output(out, tmp_path / "g1"))
    assert again.binding == out.binding


@pytest.mark.parametrize(("model", "params", "named"), [
    ("bpr_mf", {"epochs": -1}, "parameter epochs=-1 must be >= 1"),
    ("graph_filter", {"reg": float("nan")}, "parameter reg=nan must be a finite number"),
    ("graph_filter", {"nosuch": 1}, "graph_filter has no parameter nosuch"),
    ("ease", {"reg": "lots"}, "parameter reg='lots' is not a number"),
])
def test_bad_parameters_fail_within_a_second_before_any_export(model: str, params: dict, named: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def no_export(*args: object, **kwargs: object) -> None:
        raise AssertionError("the export must not start")

    monkeypatch.setattr(train_job, "export", no_export)
    t0 = time.perf_counter()
    with pytest.raises(ParameterError, match=named.replace("(", r"\(").replace(")", r"\)")):
        train_job.train(SETTINGS, model=model, params=params, tune=False, device="cpu")
    assert time.perf_counter() - t0 < 1.0

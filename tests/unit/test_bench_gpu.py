"""bench/gpu.py --small --device cpu: every part runs, times are real, the GPU columns say so.

The GPU benchmark (issue 33) is meant for a GPU machine; its ``--small`` CPU mode is what
CI runs, so the script cannot rot between the rare runs on a lent GPU.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("lightgcn", "sage", "score", "pipeline")


def _positive(x: object) -> bool:
    return isinstance(x, int | float) and math.isfinite(x) and x > 0


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("bench_gpu") / "gpu.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu.py"), "--small", "--device", "cpu",
                           "--out", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_small_cpu_run_has_every_part_with_real_timings(small_run: tuple[dict, str]) -> None:
    doc, _ = small_run
    assert doc["shape"]["synthetic"] is True and doc["shape"]["label"].startswith("SYNTHETIC")
    assert (doc["shape"]["users"], doc["shape"]["movies"], doc["shape"]["ratings"]) == (2_000, 1_000, 50_000)
    assert doc["device"] == "cpu" and doc["gpu"] is False and doc["gpu_name"] is None
    parts = doc["parts"]
    assert set(parts) == set(PARTS)
    for name in PARTS:
        assert "skipped" not in parts[name], parts[name]
        assert _positive(parts[name]["part_s"])
        assert parts[name]["shape"]["synthetic"] is True

    lg = parts["lightgcn"]
    for kind in ("csr", "pyg"):
        assert _positive(lg[kind]["step_s"]) and _positive(lg[kind]["prep_s"])
        assert len(lg[kind]["step_s_all"]) == lg["steps"] and all(map(_positive, lg[kind]["step_s_all"]))
        assert "peak_gpu_mib" not in lg[kind]  # no GPU figure without a GPU
    assert _positive(lg["ratio_pyg_over_csr"])  # both on the same (CPU) device
    assert "anchors_h100_ms" not in lg and "goal_met" not in lg

    sg = parts["sage"]
    assert sg["full_epoch"] is True and sg["fanouts"] == "10,5"
    assert sg["cpu"]["edges_trained"] == 50_000  # every distinct pair once: one whole epoch
    for key in ("edges_per_s", "train_s", "inference_s", "peak_rss_mib"):
        assert _positive(sg["cpu"][key]), key
    assert sg["cuda"] == {"absent": "no GPU"} and sg["ratio_edges_per_s_gpu_over_cpu"] is None

    sc = parts["score"]
    assert sc["model"] == "temporal_filter" and sc["users"] == 2_000 and sc["k"] == 20
    assert _positive(sc["fit_s"]) and _positive(sc["cpu"]["seconds"]) and _positive(sc["cpu"]["users_per_s"])
    assert sc["cuda"] == {"absent": "no GPU"} and sc["ratio_cpu_over_gpu_seconds"] is None
    check = sc["torch_path_check_on_cpu"]  # the GPU path's code gives the engine's top-20
    assert check["device"] == "cpu" and _positive(check["seconds"])
    assert check["agreement_with_cpu"] > 0.99

    pl = parts["pipeline"]
    assert pl["model"] == "temporal_filter"
    for key in ("train_s", "refit_s", "score_s", "total_s"):
        assert _positive(pl["cpu"][key]), key
    assert pl["cuda"] == {"absent": "no GPU"} and pl["ratio_cpu_over_gpu_total"] is None


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_small_cpu_run_prints_the_tables(small_run: tuple[dict, str]) -> None:
    _, text = small_run
    assert "SYNTHETIC 2,000 users x 1,000 movies, 50,000 ratings" in text
    assert "no GPU on this machine" in text
    for heading in ("| 1. LightGCN step", "| 2. hetero_sage mini-batch", "| 3. top-20 for all 2,000 users",
                    "| 4. default pipeline"):
        assert heading in text, heading
    assert "| PyG / CSR |" in text
    assert "wrote " in text

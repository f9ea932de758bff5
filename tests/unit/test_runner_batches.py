"""Runner.batches with concurrent writers: every batch written once, counts summed, errors raised."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from engine.graphdb.runner import Runner


class _Runner(Runner):
    """A Runner whose writes are recorded instead of sent (unit tier: no server)."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.calls: list[int] = []
        self.active = self.peak = 0
        self.lock = threading.Lock()
        self.fail_on = fail_on

    def write(self, name: str, /, **params: Any) -> list[dict[str, Any]]:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(0.01)
        with self.lock:
            self.active -= 1
            self.calls.append(params["batch"])
        if params["batch"] == self.fail_on:
            raise RuntimeError("server refused batch")
        return [{"written": len(params["ids"])}]


def _chunks(n: int) -> list[dict[str, Any]]:
    return [{"batch": b, "ids": list(range(b + 1))} for b in range(n)]


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_every_batch_is_written_once_and_counted(workers: int) -> None:
    runner = _Runner()
    done = runner.batches("x", iter(_chunks(20)), total=210, desc="x", progress=False,
                          count="written", size_key="ids", workers=workers)
    assert done == sum(range(1, 21))
    assert sorted(runner.calls) == list(range(20))
    assert runner.peak == min(workers, 20) if workers > 1 else runner.peak == 1


def test_a_failed_batch_is_raised() -> None:
    runner = _Runner(fail_on=5)
    with pytest.raises(RuntimeError, match="server refused"):
        runner.batches("x", iter(_chunks(20)), total=210, desc="x", progress=False,
                       count="written", size_key="ids", workers=2)
    assert len(runner.calls) < 20  # batches not yet started are cancelled


def test_phases_run_a_phases_streams_together_and_the_next_phase_after() -> None:
    runner = _Runner()
    phases = [[_chunks(3), [{"batch": 10 + b, "ids": [0]} for b in range(3)]],
              [[{"batch": 20, "ids": [0, 1]}], [{"batch": 30, "ids": [0]}]]]
    written = runner.phases("x", phases, total=10, desc="x", progress=False, count="written",
                            size_key="ids")
    assert written == 1 + 2 + 3 + 3 + 2 + 1
    assert sorted(runner.calls) == [0, 1, 2, 10, 11, 12, 20, 30]
    assert set(runner.calls[:6]) == {0, 1, 2, 10, 11, 12}  # phase 2 starts after phase 1 ends
    assert runner.peak == 2  # one thread per stream


def test_phases_stop_the_other_stream_and_raise_on_a_failure() -> None:
    runner = _Runner(fail_on=0)
    slow = [{"batch": 10 + b, "ids": [0]} for b in range(50)]
    with pytest.raises(RuntimeError, match="refused"):
        runner.phases("x", [[_chunks(1), slow], [_chunks(2)]], total=1, desc="x", progress=False,
                      count="written", size_key="ids")
    assert len([c for c in runner.calls if c >= 10]) < 50  # the other stream stopped early
    assert 1 not in runner.calls  # the next phase never started

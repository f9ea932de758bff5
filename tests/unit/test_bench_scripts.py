"""Every benchmark script imports against the current layout and builds its --help.

A bench script is run by hand, not by the suite, so a moved module would otherwise break it
silently (bench/writeback.py imported ``write_back`` from its old place once).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SCRIPTS = sorted(p for p in BENCH.glob("*.py") if not p.name.startswith("_"))


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_bench_script_imports_and_prints_help(path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location(f"bench_under_test_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        main = getattr(module, "main", None)
        if main is None:  # a library module of the benchmarks (references.py)
            return
        monkeypatch.setattr(sys, "argv", [path.name, "--help"])
        with pytest.raises(SystemExit) as exit_:
            main()
        assert exit_.value.code == 0
        assert "usage:" in capsys.readouterr().out
    finally:
        sys.modules.pop(spec.name, None)

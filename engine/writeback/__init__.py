"""A trained model's output for the graph (pure): build it, validate it, keep it on disk.

* :mod:`~engine.writeback.output`  -- :class:`RunOutput`: top-K, vectors, SIMILAR, fingerprint
* :mod:`~engine.writeback.build`   -- from a fitted model (batched, seen excluded)
* :mod:`~engine.writeback.files`   -- the run's ``writeback/`` folder (no pickle)
* :mod:`~engine.writeback.summary` -- what a write-back did
* :mod:`~engine.writeback.rated`   -- what an export saw of ratings; rated pairs dropped from top-K

Writing it into Neo4j (atomic run switch, two embedding slots) is
:func:`engine.graphdb.writeback.write_back`.
"""

from engine.writeback.build import build_run_output
from engine.writeback.files import load_run_output, save_run_output
from engine.writeback.output import RunOutput
from engine.writeback.summary import WritebackSummary

__all__ = ["RunOutput", "WritebackSummary", "build_run_output", "load_run_output", "save_run_output"]

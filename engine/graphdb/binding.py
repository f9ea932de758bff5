"""Dataset binding: a run is written back only into the graph it was trained on.

At training time :func:`read_binding` records what the graph holds -- the ``:Dataset``
name, md5, content fingerprint and status, and the number of users, movies and ratings --
into the run (``RunOutput.binding``, saved in ``run.json`` and on the ``:ModelRun``).
Before a write-back writes anything, :func:`check_binding` compares it with the graph now
and raises :class:`DatasetMismatchError` (exit 2) when

* the graph holds another dataset (name), or the same name with other content
  (fingerprint / md5: reloaded from an edited copy), or a load that is not complete;
* ids the run recommends for or about are not in the graph.

Counts are not compared: on a live graph ``engine rate`` adds users and ratings while a
run trains, and those are served by fold-in or cold start until the next refresh. What
binds a run is the dataset's identity and that every id it knows still exists.

MovieLens ids are only meaningful within a release (movie 475 is "Trainspotting" in
ML-100K and another film in ml-latest-small), so without this check a run would write
recommendations onto unrelated movies. ``force`` (``--force``) skips it, with a warning.
A run saved before runs recorded a binding is checked by its dataset name and its ids.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from engine.errors import InputError
from engine.graphdb.nodeids import MISSING, NodeIds
from engine.graphdb.runner import Runner
from engine.schema import Label, Rel
from engine.writeback.output import RunOutput

log = logging.getLogger(__name__)


class DatasetMismatchError(InputError):
    """The run was trained on another dataset than the graph holds; nothing was written."""


def read_binding(db: Runner) -> dict[str, Any]:
    """What the graph holds now: its ``:Dataset`` identity and user/movie/rating counts."""
    datasets = [d["props"] for d in db.read("load/dataset_get")]
    counts = {r["kind"]: int(r["n"]) for r in db.read("admin/graph_counts")}
    one = datasets[0] if len(datasets) == 1 else {}
    return {
        "name": ",".join(sorted(str(d.get("name")) for d in datasets)) or None,
        "md5": one.get("md5"), "fingerprint": one.get("fingerprint"),
        "status": one.get("status") if datasets else None,
        "counts": {"users": counts.get(Label.USER, 0), "movies": counts.get(Label.MOVIE, 0),
                   "ratings": counts.get(Rel.RATED, 0)},
    }


def _identity(binding: dict[str, Any]) -> str:
    name = binding.get("name") or "no :Dataset"
    if binding.get("fingerprint"):
        return f"{name} (fingerprint {str(binding['fingerprint'])[:12]})"
    return f"{name} (md5 {binding['md5']})" if binding.get("md5") else str(name)


def mismatches(run: dict[str, Any] | None, dataset: str, now: dict[str, Any]) -> list[str]:
    """Why a run trained on ``run`` (``None``: unknown, use ``dataset``) does not fit ``now``."""
    if run is None:
        names = set((now.get("name") or "unknown").split(","))
        return [] if dataset in names else [
            f"it was trained on {dataset} and the graph holds {_identity(now)}"]
    if run.get("name") != now.get("name"):
        return [f"it was trained on {_identity(run)} and the graph holds {_identity(now)}"]
    out = []
    for key in ("fingerprint", "md5"):
        if run.get(key) and now.get(key):
            if run[key] != now[key]:
                out.append(f"the graph's {now.get('name')} has other content than the one it "
                           f"was trained on ({key} {str(now[key])[:12]} vs {str(run[key])[:12]}: "
                           "reloaded from an edited copy?)")
            break
    if now.get("status") not in (None, "complete"):
        out.append(f"the graph's dataset is {now.get('status')}, not complete (finish the load)")
    was, has = run.get("counts") or {}, now.get("counts") or {}
    grown = [f"{has[k] - was[k]:+,} {k}" for k in ("users", "movies", "ratings")
             if isinstance(was.get(k), int) and isinstance(has.get(k), int) and has[k] != was[k]]
    if grown:  # live use: engine rate adds users and ratings while a run trains
        log.info("the graph changed since the run was trained (%s); fold-in and cold start serve "
                 "what is new until the next refresh", ", ".join(grown))
    return out


def check_binding(db: Runner, out: RunOutput, ids: NodeIds, *, force: bool = False) -> None:
    """Raise :class:`DatasetMismatchError` unless ``out`` fits the graph (see the module docstring)."""
    problems = mismatches(out.binding, out.dataset, read_binding(db))
    users = int((ids.users(out.idmap.users, strict=False) == MISSING).sum())
    movies = int((ids.movies(out.idmap.movies, strict=False) == MISSING).sum())
    if users or movies:
        example = (out.idmap.users[ids.users(out.idmap.users, strict=False) == MISSING] if users
                   else out.idmap.movies[ids.movies(out.idmap.movies, strict=False) == MISSING])
        problems.append(f"{users:,} of its users and {movies:,} of its movies are not in the "
                        f"graph (e.g. {'user' if users else 'movie'} {int(np.asarray(example)[0])})")
    if not problems:
        return
    text = f"run {out.run_id} does not fit this graph: " + "; ".join(problems)
    if force:
        log.warning("%s -- written anyway (--force)", text)
        return
    raise DatasetMismatchError(
        f"{text}. Nothing was written. Train a new run on this graph (`engine train`) or load "
        "the dataset it was trained on; --force writes it anyway (its recommendations may then "
        "name the wrong movies)."
    )

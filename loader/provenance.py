"""What the ``:Dataset`` node says about a load: which content it holds, and how a load ended.

* :func:`fingerprint` -- sha256 of a release's content (every table, row order kept). The
  zip's md5 changes when a file is re-zipped and is unknown for a folder or synthetic data;
  the fingerprint is the same exactly when the loaded content is. Runs record it
  (:mod:`engine.graphdb.binding`) and a reload compares it (:func:`check_same_content`).
* :func:`check_same_content` -- a release of the same name whose content differs from the
  one in the graph (an edited copy) is refused before anything is written, naming
  ``--replace``: loading it over the graph would mix the two.
* :func:`mark_failed` -- a load that stops sets ``status: 'failed'`` and the reason, so a
  ``:Dataset`` never stays ``loading``; re-running the load resumes from its checkpoints.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import pandas as pd

from engine.errors import InputError
from engine.graphdb import Runner, translate
from loader.dataset import MovieLensData

log = logging.getLogger(__name__)


class EditedReleaseError(InputError):
    """The graph holds a release of this name with other content; nothing was written."""


def fingerprint(data: MovieLensData) -> str:
    """sha256 over users, movies, ratings and tags (columns and values, in row order)."""
    h = hashlib.sha256()
    for table in ("users", "movies", "ratings", "tags"):
        frame: pd.DataFrame = getattr(data, table)
        h.update(f"{table}:{len(frame)}:{','.join(frame.columns)}".encode())
        for col in frame.columns:
            values = frame[col]
            if col == "genres":
                values = values.map("|".join)
            hashed = pd.util.hash_pandas_object(values, index=False, categorize=False)
            h.update(hashed.to_numpy().tobytes())
    return h.hexdigest()


def same_content(props: dict[str, Any], digest: str, md5: str | None) -> bool | None:
    """Whether the graph's ``:Dataset`` holds this content (``None``: it cannot tell)."""
    if props.get("fingerprint"):
        return bool(props["fingerprint"] == digest)
    if props.get("md5") and md5:
        return bool(props["md5"] == md5)
    return None


def check_same_content(props: dict[str, Any] | None, data: MovieLensData, digest: str) -> None:
    """Raise :class:`EditedReleaseError` if the graph's ``data.name`` has other content."""
    if props is None or same_content(props, digest, data.md5) is not False:
        return
    old = str(props.get("fingerprint"))[:12]
    was = f"md5 {props['md5']}" if props.get("md5") else f"fingerprint {old}"
    now = f"md5 {data.md5}" if data.md5 else f"fingerprint {digest[:12]}"
    raise EditedReleaseError(
        f"the graph holds {data.name} from {props.get('source')} ({was}, status "
        f"{props.get('status')}), and {data.source} ({now}) has other content: an edited "
        "release. Loading it over the graph would mix the two (new rows beside stale ones); "
        "nothing was written. Re-run with --replace to wipe the graph and load this copy."
    )


def mark_failed(runner: Runner, name: str, exc: BaseException) -> None:
    """Set the ``:Dataset`` to ``failed`` with a one-line reason (best effort: the server may be gone)."""
    reason = translate(exc) or exc
    text = (str(reason).strip().splitlines() or [type(exc).__name__])[0][:500]
    if isinstance(exc, KeyboardInterrupt):
        text = "interrupted"
    try:
        runner.write("load/dataset_failed", name=name, reason=f"{type(exc).__name__}: {text}")
    except Exception as again:  # noqa: BLE001 - the original error is what the user must see
        log.warning("could not mark dataset %s failed (%s); re-running the load resumes it",
                    name, type(again).__name__)

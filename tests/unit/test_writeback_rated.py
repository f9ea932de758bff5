"""engine.writeback.rated: dropping already-rated movies from top-K lists in numpy."""

from __future__ import annotations

import numpy as np

from engine.data.interactions import IdMap, Interactions
from engine.data.selection import Selection
from engine.writeback.rated import KnownRatings, flat_rows, kept_mask


def known(pairs: list[tuple[int, int]], shape: tuple[int, int] = (3, 6)) -> KnownRatings:
    u = np.array([a for a, _ in pairs], dtype=np.int64)
    m = np.array([b for _, b in pairs], dtype=np.int64)
    inter = Interactions(user=u, item=m, rating=np.ones(len(u), np.float32),
                         timestamp=np.zeros(len(u), np.int64), num_users=shape[0], num_items=shape[1])
    idmap = IdMap(users=np.arange(shape[0], dtype=np.int64) + 100,
                  movies=np.arange(shape[1], dtype=np.int64) + 1000)
    return KnownRatings.from_interactions(inter, idmap, "2026-01-01T00:00:00Z", 7)


def test_kept_mask_drops_rated_pairs_and_non_finite_scores() -> None:
    items = np.array([[0, 1, 2], [3, 4, 5], [5, 0, 1]])
    scores = np.array([[3.0, 2.0, 1.0], [3.0, 2.0, -np.inf], [1.0, 0.5, 0.1]], dtype=np.float32)
    rated = known([(0, 1), (1, 3), (2, 4), (0, 1)]).pairs  # (2, 4) is not recommended; a repeat
    keep = kept_mask(items, scores, rated, 0, 3)
    assert keep.tolist() == [[True, False, True], [False, True, False], [True, True, True]]
    assert kept_mask(items, scores, rated, 1, 3).tolist() == keep[1:].tolist()


def test_kept_mask_against_a_brute_force_check() -> None:
    rng = np.random.default_rng(0)
    n, m, k = 40, 30, 7
    items = np.stack([rng.permutation(m)[:k] for _ in range(n)])
    scores = rng.random((n, k)).astype(np.float32)
    pairs = {(int(u), int(i)) for u, i in zip(rng.integers(0, n, 300), rng.integers(0, m, 300), strict=True)}
    rated = known(sorted(pairs), (n, m)).pairs
    keep = kept_mask(items, scores, rated, 5, 33)
    brute = np.array([[(u, int(i)) not in pairs for i in items[u]] for u in range(5, 33)])
    assert keep.tolist() == brute.tolist()


def test_flat_rows_renumber_ranks_best_first() -> None:
    keep = np.array([[True, False, True, True], [False, False, False, False], [False, True, True, False]])
    movies = np.arange(12).reshape(3, 4)
    rows, ranks, (m, none) = flat_rows(keep, movies, None)
    assert rows.tolist() == [0, 0, 0, 2, 2]
    assert ranks.tolist() == [1, 2, 3, 1, 2]
    assert m.tolist() == [0, 2, 3, 9, 10]
    assert none is None


def test_with_pairs_adds_later_ratings() -> None:
    base = known([(0, 0)])
    more = base.with_pairs(np.array([1, 0]), np.array([2, 0]))
    assert more.pairs.toarray().sum() == 2 and bool(more.pairs[1, 2])
    assert base.with_pairs(np.zeros(0, np.int64), np.zeros(0, np.int64)) is base
    assert more.as_of == base.as_of and more.unstamped == base.unstamped == 7
    assert more.fits(base.idmap)
    other = IdMap(users=base.idmap.users, movies=base.idmap.movies[::-1].copy())
    assert not base.fits(other)  # same shape, another id space


def test_only_a_selection_without_edge_filters_keeps_every_rating() -> None:
    assert Selection().keeps_every_rating
    assert Selection(min_ratings=5).keeps_every_rating  # fewer users, all of their ratings
    assert not Selection(min_rating=4.0).keeps_every_rating
    assert not Selection(genres=("Drama",)).keeps_every_rating


def test_flat_phases_write_every_edge_once_in_lock_disjoint_blocks() -> None:
    from engine.graphdb.recommended import flat_phases

    rng = np.random.default_rng(1)
    n = 1_000
    flat = {"users": rng.integers(0, 300, n), "movies": rng.integers(300, 500, n),
            "ranks": rng.integers(1, 21, n), "scores": rng.random(n), "ratings": None,
            "reasons": np.where(rng.random(n) < 0.5, -1, rng.integers(1, 99, n))}
    phases = flat_phases("r", flat, 64)
    assert len(phases) == 2 and all(len(p) == 2 for p in phases)
    batches = [[list(stream) for stream in phase] for phase in phases]
    every = [b for phase in batches for stream in phase for b in stream]
    seen = sorted((u, m) for b in every for u, m in zip(b["users"], b["movies"], strict=True))
    assert seen == sorted(zip(flat["users"].tolist(), flat["movies"].tolist(), strict=True))
    assert all(b["runId"] == "r" and b["ratings"] is None and len(b["users"]) <= 64 for b in every)
    assert all(x is None or x > 0 for b in every for x in b["reasons"])  # -1 -> null
    for phase in batches:  # the two streams of a phase share no user and no movie
        nodes = [{x for b in stream for x in b["users"] + b["movies"]} for stream in phase]
        assert nodes[0] and nodes[1] and not nodes[0] & nodes[1]


def test_flat_edges_drop_rated_missing_and_renumber() -> None:
    from engine.graphdb.nodeids import MISSING
    from engine.graphdb.recommended import flat_edges
    from engine.writeback import RunOutput

    kr = known([(0, 1)])
    out = RunOutput(run_id="r", model="m", params={}, metrics={}, dataset="d", git_sha=None,
                    idmap=kr.idmap, user_emb=None, item_emb=None,
                    rec_items=np.array([[1, 2, 3], [4, 5, 0], [2, 3, 4]]),
                    rec_scores=np.array([[3, 2, 1], [3, 2, -np.inf], [3, 2, 1]], dtype=np.float32),
                    rec_reasons=np.array([[-1, 0, 5], [1, 1, 1], [2, 2, 2]]))

    class Ids:  # internal id = raw id + 1; user 102 and movie 1005 are gone from the graph
        def users(self, raw, strict=False):  # type: ignore[no-untyped-def]
            return np.where(raw == 102, MISSING, raw + 1)

        def movies(self, raw, strict=False):  # type: ignore[no-untyped-def]
            return np.where(raw == 1005, MISSING, raw + 1)

    flat = flat_edges(out, Ids(), kr.pairs, chunk=2)  # type: ignore[arg-type]
    # user 0 (internal 101): movie index 1 rated; user 1 (102): the gone movie and the -inf
    # score dropped; user 2 is gone from the graph
    assert flat["users"].tolist() == [101, 101, 102]
    assert flat["movies"].tolist() == [1003, 1004, 1005]
    assert flat["ranks"].tolist() == [1, 2, 1]
    assert flat["reasons"].tolist() == [1000, 1005, 1001]
    assert flat["ratings"] is None

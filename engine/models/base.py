"""The one recommender contract every model implements (conventions §6).

Modelled on ``implicit.recommender_base.RecommenderBase``::

    model = SomeModel(plain=1, numbers=2.0)          # hyper-parameters only, no IO
    history = model.fit(train, valid=None, graph=None)   # -> FitHistory; valid: selection only
    scores = model.score(users)                      # float32 [len(users), num_items]
    items, s = model.recommend(users, k=10)          # int64 [n,k], float32 [n,k]; seen excluded
    items, s = model.similar_items(k=10) or None     # nearest items by the model's item vectors
    user_emb, item_emb = model.embeddings() or (None, None)
    model.save(path); same = SomeModel.load(path)    # config.json + state.npz, no pickle
    live = model.fold_in(history)                    # new users' rows, no retraining (engine refresh)

``task`` says what the scores mean: ``"ranking"`` (higher is more relevant) or
``"rating"`` (``score``/``predict`` return predicted ratings; evaluation adds RMSE/MAE and
write-back stores ``predictedRating``). ``needs_graph`` says whether :meth:`fit` reads the
PyG ``HeteroData`` training graph (features, genres; :func:`engine.data.hetero.to_hetero_data`).

Checkpoint layout (``dir/``): ``config.json`` = ``{"model": name, "params": {...constructor
args...}, "num_users", "num_items"}`` and ``state.npz`` = the model's arrays plus the train
CSR of seen items (``seen_indptr``/``seen_indices``), read with ``allow_pickle=False``. The
caller saves the :class:`~engine.data.interactions.IdMap` alongside.

Subclasses store every constructor argument under the same attribute name (so
:meth:`get_params` can rebuild them, as in scikit-learn), implement :meth:`_fit`,
:meth:`score`, and the two state hooks :meth:`_state` / :meth:`_load_state`.
"""

from __future__ import annotations

import abc
import copy
import inspect
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeAlias, TypeVar

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from engine.data.interactions import Interactions
from engine.errors import ParameterError, ReelGraphError
from engine.evaluate.metrics import mask_seen, top_k
from engine.models.history import FitHistory

if TYPE_CHECKING:
    from torch_geometric.data import FeatureStore, GraphStore, HeteroData

    #: The training graph a model reads: PyG ``HeteroData``, or a remote
    #: ``(FeatureStore, GraphStore)`` pair (models with ``reads_stores``).
    GraphInput: TypeAlias = HeteroData | tuple[FeatureStore, GraphStore]

__all__ = ["CorruptCheckpointError", "GraphInput", "Recommender", "Task"]

log = logging.getLogger(__name__)

Task = Literal["ranking", "rating"]
R = TypeVar("R", bound="Recommender")


class CorruptCheckpointError(ReelGraphError):
    """A saved model's arrays hold values no fit produces (NaN): it is refused, not served."""


class Recommender(abc.ABC):
    """Abstract top-K recommender over user/item indices of one :class:`IdMap`."""

    name: ClassVar[str]
    task: ClassVar[Task] = "ranking"
    needs_graph: ClassVar[bool] = False
    #: ``fit`` also takes the graph as a remote ``(FeatureStore, GraphStore)`` pair.
    reads_stores: ClassVar[bool] = False
    #: ``fit``'s graph is the database itself (e.g. GDS FastRP: :mod:`engine.models.gds_fastrp`).
    in_database: ClassVar[bool] = False
    #: ``score`` returns a new array the caller may modify (no defensive copy needed).
    fresh_scores: ClassVar[bool] = False

    def __init__(self) -> None:
        self.num_users = 0
        self.num_items = 0
        self._seen: sp.csr_matrix | None = None

    # ------------------------------------------------------------------ training
    def fit(
        self,
        train: Interactions,
        valid: Interactions | None = None,
        graph: GraphInput | None = None,
    ) -> FitHistory:
        """Fit on ``train``; ``valid`` may only drive early stopping / model selection.

        ``graph`` is the training graph as PyG ``HeteroData`` (built from ``train`` only),
        read by models with ``needs_graph``; the others ignore it.
        """
        self.num_users, self.num_items = int(train.num_users), int(train.num_items)
        self._seen = train.to_csr(binary=True)
        return self._fit(train, valid, graph)

    @abc.abstractmethod
    def _fit(self, train: Interactions, valid: Interactions | None,
             graph: GraphInput | None) -> FitHistory:
        """Model-specific fitting (``self._seen`` and sizes are already set)."""

    # ------------------------------------------------------------------ inference
    @abc.abstractmethod
    def score(self, users: np.ndarray) -> np.ndarray:
        """Scores of every item for ``users`` (int64 ``[n]``) -> float32 ``[n, num_items]``."""

    def recommend(
        self,
        users: np.ndarray,
        k: int = 10,
        exclude_seen: bool = True,
        batch_size: int = 1024,
        progress: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` items per user, best first: ``(items int64 [n,k], scores float32 [n,k])``.

        Scores are computed in batches of ``batch_size`` users, so memory is
        ``O(batch_size * num_items)``, never ``O(num_users * num_items)``. With
        ``exclude_seen`` the train items of each user (kept from :meth:`fit`) are masked;
        if fewer than ``k`` items remain, the tail holds ``-inf`` scores. ``progress`` shows a
        bar (users/s).
        """
        self._check_fitted()
        users = np.asarray(users, dtype=np.int64).reshape(-1)
        k = min(k, self.num_items)
        items_out = np.empty((len(users), k), dtype=np.int64)
        scores_out = np.empty((len(users), k), dtype=np.float32)
        bar = tqdm(total=len(users), desc=f"top-{k} {self.name}", unit="users", disable=not progress,
                   leave=False)
        for start in range(0, len(users), batch_size):
            batch = users[start : start + batch_size]
            bar.update(len(batch))
            s = np.array(self.score(batch), dtype=np.float32, copy=not self.fresh_scores)
            if exclude_seen:
                assert self._seen is not None
                mask_seen(s, batch, self._seen)
            items_out[start : start + len(batch)], scores_out[start : start + len(batch)] = top_k(
                s, k
            )
        bar.close()
        return items_out, scores_out

    def embeddings(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(user_emb [U,d], item_emb [I,d])`` float32 for write-back, or ``None``."""
        return None

    def reasons(self, users: np.ndarray, items: np.ndarray) -> np.ndarray | None:
        """Why each recommendation ``(users[r], items[r, k])`` was made, or ``None``.

        An item index per recommendation (int64 ``[n, K]``, -1 for none); ``None`` for a
        model that gives no reasons (the default).
        """
        return None

    def similar_items(self, k: int = 10, batch_size: int = 1024
                      ) -> tuple[np.ndarray, np.ndarray] | None:
        """Top-``k`` cosine neighbours of every item by its vector, self excluded.

        ``(items int64 [I, k], scores float32 [I, k])`` computed in row batches (memory
        ``O(batch_size * num_items)``); ``None`` for a model without item vectors.
        """
        emb = self.embeddings()
        if emb is None:
            return None
        vectors = np.asarray(emb[1], dtype=np.float32)
        unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        n = len(unit)
        k = min(k, n - 1)
        items = np.empty((n, k), dtype=np.int64)
        scores = np.empty((n, k), dtype=np.float32)
        for lo in range(0, n, batch_size):
            sim = unit[lo : lo + batch_size] @ unit.T
            rows = np.arange(sim.shape[0])
            sim[rows, rows + lo] = -np.inf
            items[lo : lo + len(sim)], scores[lo : lo + len(sim)] = top_k(sim, k)
        return items, scores

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Score of each ``(users[j], items[j])`` pair (ratings for rating models)."""
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        out = np.empty(len(users), dtype=np.float32)
        uniq, inv = np.unique(users, return_inverse=True)
        for start in range(0, len(uniq), 1024):
            block = self.score(uniq[start : start + 1024])
            sel = (inv >= start) & (inv < start + 1024)
            out[sel] = block[inv[sel] - start, items[sel]]
        return out

    # ------------------------------------------------------------------ fold-in
    def fold_in(self: R, history: Interactions) -> R:
        """The fitted model over other users, with no retraining: ``history``'s users ``0..n-1``.

        ``history`` holds each user's whole rating history (indices of this model's items;
        ``num_items`` must match). The item side is shared, the user side is derived from
        ``history`` by :meth:`_fold_users`: the user's rows through the item filter
        (item-item and graph-filter models), a least-squares user vector on the item
        factors (factor, GNN and rating models). The result is a full :class:`Recommender`:
        ``recommend`` excludes the history, ``reasons`` and ``embeddings`` describe the new
        users. ``engine refresh`` uses it for users whose ratings changed after training.
        """
        self._check_fitted()
        if history.num_items != self.num_items:
            raise ValueError(f"history has {history.num_items} items; {self.name} has {self.num_items}")
        view = copy.copy(self)
        view.num_users = int(history.num_users)
        view._seen = history.to_csr(binary=True)
        view._fold_users(history)
        return view

    def _fold_users(self, history: Interactions) -> None:  # noqa: B027
        """Set this copy's user-side state from ``history`` (default: the seen rows only)."""

    # ------------------------------------------------------------------ parameters
    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        """Names :meth:`get_params` returns and the constructor accepts."""
        kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        params = inspect.signature(cls.__init__).parameters.values()
        return tuple(p.name for p in params if p.kind in kinds and p.name != "self")

    @classmethod
    def create(cls: type[R], params: Mapping[str, Any] | None = None) -> R:
        """``cls(**params)``, with an unknown parameter name named in the error."""
        params = dict(params or {})
        unknown = sorted(set(params) - set(cls.param_names()))
        if unknown:
            raise ParameterError(f"{cls.name} has no parameter {', '.join(unknown)}; "
                                 f"it takes {', '.join(cls.param_names()) or 'none'}")
        try:
            return cls(**params)
        except TypeError as exc:  # a value of the wrong type deep in a constructor
            raise ParameterError(f"bad parameters for {cls.name}: {exc}") from exc

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments (plain numbers/strings) read back from attributes."""
        return {name: getattr(self, name) for name in self.param_names()}

    def learned_params(self) -> dict[str, Any]:
        """Parameters a fit chose on validation that a refit without validation must replay.

        Empty by default (the epoch count of iterative models is carried by their
        :class:`~engine.models.history.FitHistory`); a blend returns its weights.
        """
        return {}

    # ------------------------------------------------------------------ persistence
    def _state(self) -> dict[str, np.ndarray]:
        """Arrays that, with the params, reproduce :meth:`score` exactly."""
        return {}

    def _load_state(self, state: Mapping[str, np.ndarray]) -> None:  # noqa: B027
        """Inverse of :meth:`_state` (no-op for stateless models)."""

    def save(self, path: Path) -> None:
        """Write ``config.json`` + ``state.npz`` into directory ``path`` (created)."""
        self._check_fitted()
        assert self._seen is not None
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        config = {
            "model": self.name,
            "params": self.get_params(),
            "num_users": self.num_users,
            "num_items": self.num_items,
        }
        (path / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
        arrays = {f"state__{k}": np.asarray(v) for k, v in self._state().items()}
        arrays["seen_indptr"] = self._seen.indptr.astype(np.int64)
        arrays["seen_indices"] = self._seen.indices.astype(np.int64)
        np.savez(path / "state.npz", **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls: type[R], path: Path) -> R:
        """Rebuild a fitted model saved by :meth:`save` (no pickle)."""
        path = Path(path)
        config = json.loads((path / "config.json").read_text())
        if config["model"] != cls.name:
            raise ValueError(f"checkpoint holds {config['model']!r}, not {cls.name!r}")
        model = cls.create(config["params"])
        model.num_users, model.num_items = int(config["num_users"]), int(config["num_items"])
        with np.load(path / "state.npz", allow_pickle=False) as z:
            indptr, indices = z["seen_indptr"], z["seen_indices"]
            model._seen = sp.csr_matrix(
                (np.ones(len(indices), np.float32), indices, indptr),
                shape=(model.num_users, model.num_items),
            )
            state = {k[len("state__") :]: z[k] for k in z.files if k.startswith("state__")}
        bad = sorted(k for k, v in state.items() if v.dtype.kind in "fc" and np.isnan(v).any())
        if bad:
            raise CorruptCheckpointError(f"{path / 'state.npz'}: {', '.join(bad)} hold NaN; the "
                                         "checkpoint is corrupt (train the run again)")
        model._load_state(state)
        return model

    def _check_fitted(self) -> None:
        if self._seen is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted")

"""Mini-batch training and layer-wise inference of the heterogeneous link models (PyG loaders).

A *graph source* is what PyG's loaders accept: an in-memory ``HeteroData`` (the prepared
train graph of :func:`~engine.models.hetero.inputs.prepare_graph`) or a remote
``(FeatureStore, GraphStore)`` pair such as ReelGraph's Neo4j-backed one
(:mod:`engine.graphdb.pyg_store`), holding the same relations and z-scored features.

* **Training** (:func:`link_loader`, :class:`MiniBatchLinkNet`): PyG's stock
  ``LinkNeighborLoader`` draws a batch of (user, positive, negative) triplets -- train
  ``rated`` pairs with one uniform negative the user has not rated, as in the full-graph
  BPR epoch -- and their sampled neighbourhoods (``fanouts[l]`` in-neighbours per
  relation at hop ``l``); BPR on the triplets or BCE on their pairs. The
  encoder runs on the batch's ``x_dict`` / ``edge_index_dict`` with ``n_id`` selecting the
  id embeddings. An epoch covers ``epoch_edges`` seeded random train edges (all by default).
* **Inference** (:func:`layerwise_states`): layer by layer over the whole graph, each
  node type's destination nodes in chunks of ``chunk`` rows, with ALL in-edges of the
  chunk (no sampling). Only ``[N_type, d]`` states are held, never a users x movies
  matrix; the result equals the full-graph forward pass (up to float rounding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import FeatureStore, GraphStore, HeteroData, TensorAttr
from torch_geometric.loader import LinkNeighborLoader

from engine.data.hetero import rated_pairs
from engine.data.interactions import Interactions
from engine.errors import ParameterError
from engine.models.hetero.encoder import HeteroEncoderBase
from engine.models.hetero.sampling import neighbor_sampler
from engine.models.losses import NegativeSampler, bpr_loss
from engine.schema import RATED_BY, RATES, EdgeType, NodeType

__all__ = ["GraphSource", "MiniBatchLinkNet", "Sampling", "is_store", "layerwise_states",
           "fanout_dict", "link_loader", "parse_fanouts", "run_epochs", "source_dims"]

GraphSource: TypeAlias = HeteroData | tuple[FeatureStore, GraphStore]

#: Train edges above which ``minibatch='auto'`` samples instead of full-graph passes.
MINIBATCH_EDGES = 2_000_000


def is_store(source: Any) -> bool:
    """Whether ``source`` is a remote ``(FeatureStore, GraphStore)`` pair."""
    return (isinstance(source, tuple) and len(source) == 2
            and isinstance(source[0], FeatureStore) and isinstance(source[1], GraphStore))


def parse_fanouts(value: Any) -> tuple[int, ...]:
    """``"10,5"``, ``[10, 5]`` or ``10`` -> ``(10, 5)``; ``-1`` keeps every neighbour."""
    items = value.split(",") if isinstance(value, str) else (
        list(value) if isinstance(value, list | tuple) else [value])
    try:
        out = tuple(int(str(v).strip()) for v in items)
    except ValueError:
        raise ParameterError(f"parameter fanouts={value!r} must be integers like 10,5") from None
    if not out or any(v == 0 or v < -1 for v in out):
        raise ParameterError(f"parameter fanouts={value!r} must be positive (or -1: all)")
    return out


@dataclass(frozen=True)
class Sampling:
    """How a mini-batch run samples.

    Args:
        fanouts: in-neighbours per relation at each hop (one per layer; -1 = all).
        loss: ``bpr`` (triplets) or ``bce`` (positive and negative pairs).
        epoch_edges: train edges per epoch (None: all of them).
        max_edges: train edges per run at most (an edge budget; None: no budget).
        chunk: destination rows per step of layer-wise inference.
    """

    fanouts: tuple[int, ...] = (10, 5)
    loss: str = "bpr"
    epoch_edges: int | None = None
    max_edges: int | None = None
    chunk: int = 16_384


def _num_nodes(source: GraphSource) -> dict[str, int]:
    if isinstance(source, HeteroData):
        return {t: int(source[t].num_nodes) for t in source.node_types}
    sizes: dict[str, int] = {}
    for attr in source[1].get_all_edge_attrs():
        (s, _, t), size = attr.edge_type, attr.size
        if size is not None:
            sizes.setdefault(s, int(size[0]))
            sizes.setdefault(t, int(size[1]))
    return sizes


def source_dims(source: GraphSource) -> dict[str, Any]:
    """Node counts and feature widths an encoder is built from."""
    sizes = _num_nodes(source)

    def width(t: str) -> int:
        if isinstance(source, HeteroData):
            return int(source[t].x.shape[1]) if t in source.node_types and "x" in source[t] else 0
        attrs = {(a.group_name, a.attr_name) for a in source[0].get_all_tensor_attrs()}
        if (t, "x") not in attrs:
            return 0
        size = source[0].get_tensor_size(TensorAttr(t, "x"))
        return int(size[1]) if size is not None and len(size) > 1 else 1

    return {"num_users": sizes[NodeType.USER], "num_items": sizes[NodeType.MOVIE],
            "num_genres": sizes.get(NodeType.GENRE, 0),
            "user_feat_dim": width(NodeType.USER), "movie_feat_dim": width(NodeType.MOVIE)}


def link_loader(source: GraphSource, pairs: tuple[np.ndarray, np.ndarray],
                negatives: NegativeSampler, sampling: Sampling, *, batch_size: int, seed: int,
                epoch: int = 0, limit: int | None = None, pin_memory: bool = False,
                sampler: Any = None) -> LinkNeighborLoader:
    """PyG's ``LinkNeighborLoader`` over one epoch's (user, positive, negative) triplets.

    As in the full-graph BPR epoch (:func:`~engine.models.losses.bpr_epoch`): every
    distinct train pair (or ``epoch_edges`` of them) once in a seeded order, each with one
    uniform negative the user has not rated (:class:`~engine.models.losses.NegativeSampler`).
    The loader gets them as label pairs ``(u, p), (u, n), ...`` interleaved, labels 1, 0,
    in that order (no shuffling inside the loader), so each batch holds ``batch_size``
    whole triplets. ``limit`` caps the epoch's triplets (what is left of an edge budget);
    ``sampler`` reuses a fit's neighbour sampler (its CSC is built once).
    """
    users, movies = pairs
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(users))
    keep = min(len(order), sampling.epoch_edges or len(order), len(order) if limit is None else limit)
    order = order[:keep]
    u, p = users[order], movies[order]
    n = negatives.sample(u)
    index = torch.from_numpy(np.stack([np.repeat(u, 2), np.column_stack([p, n]).reshape(-1)]))
    label = torch.from_numpy(np.tile(np.array([1.0, 0.0], np.float32), len(u)))
    num_neighbors = fanout_dict(source, sampling)
    return LinkNeighborLoader(
        source, num_neighbors, edge_label_index=(RATES, index), edge_label=label,
        batch_size=2 * batch_size, shuffle=False, pin_memory=pin_memory,
        neighbor_sampler=sampler if sampler is not None else neighbor_sampler(source, num_neighbors),
    )


def fanout_dict(source: GraphSource, sampling: Sampling) -> dict[EdgeType, list[int]]:
    """``num_neighbors`` for PyG's loaders: the fanouts for every relation of the source."""
    return {et: list(sampling.fanouts) for et in _edge_types(source)}


def _edge_types(source: GraphSource) -> list[EdgeType]:
    if isinstance(source, HeteroData):
        return list(source.edge_types)
    return sorted({attr.edge_type for attr in source[1].get_all_edge_attrs()})


def _attach_edge_attr(source: GraphSource, batch: HeteroData) -> None:
    """A store batch's rating attributes, looked up by ``e_id`` on the CPU.

    PyG copies edge attributes into batches only from a ``HeteroData``; this runs before
    the batch moves to the device.
    """
    store = source[1] if isinstance(source, tuple) else None
    if store is None or not hasattr(store, "edge_attr"):
        return
    for et in (RATES, RATED_BY):
        if et in batch.edge_types and "edge_attr" not in batch[et] and "e_id" in batch[et]:
            batch[et].edge_attr = store.edge_attr(et)[batch[et].e_id]


class MiniBatchLinkNet(nn.Module):
    """The encoder trained on sampled batches: ``s(u, i) = h_u · h_i`` (BPR or BCE)."""

    def __init__(self, encoder: HeteroEncoderBase, reg: float, loss: str = "bpr") -> None:
        super().__init__()
        self.encoder, self.reg, self.loss_kind = encoder, reg, loss

    def batch_states(self, source: GraphSource, batch: HeteroData) -> dict[str, Tensor]:
        """Encoder states of the batch's nodes (local order)."""
        enc = self.encoder
        x = {t: batch[t].x for t in (NodeType.USER, NodeType.MOVIE)
             if t in batch.node_types and "x" in batch[t]}
        ei = {et: batch[et].edge_index for et in batch.edge_types}
        n_id = {t: batch[t].n_id for t in batch.node_types if "n_id" in batch[t]}
        attr = None
        if enc.uses_edge_attr:
            attr = {et: batch[et].edge_attr for et in (RATES, RATED_BY)
                    if et in ei and "edge_attr" in batch[et]}
        return cast(dict[str, Tensor], enc(x, ei, attr, n_id))

    def loss(self, source: GraphSource, batch: HeteroData) -> Tensor:
        """BPR over the batch's (u, p), (u, n) label pairs, or BCE on them (``loss``)."""
        h = self.batch_states(source, batch)
        eli, label = batch[RATES].edge_label_index, batch[RATES].edge_label
        uid, mid = batch[NodeType.USER].n_id, batch[NodeType.MOVIE].n_id
        scores = (h[NodeType.USER][eli[0]] * h[NodeType.MOVIE][eli[1]]).sum(-1)
        ni = self.encoder.node_input
        if self.loss_kind == "bpr":
            ego = (ni.user_emb(uid[eli[0, 0::2]]), ni.movie_emb(mid[eli[1, 0::2]]),
                   ni.movie_emb(mid[eli[1, 1::2]]))
            return bpr_loss(scores[0::2], scores[1::2], ego, self.reg)
        pair = (ni.user_emb(uid[eli[0]]), ni.movie_emb(mid[eli[1]]))
        l2 = sum(e.pow(2).sum() for e in pair) / (2 * len(scores))
        return F.binary_cross_entropy_with_logits(scores, label.float()) + self.reg * l2


def run_epochs(module: MiniBatchLinkNet, source: GraphSource, train: Interactions,
               sampling: Sampling, *, batch_size: int, seed: int, device: str,
               sampler: Any = None) -> Any:
    """``run_epoch(optimiser) -> mean loss`` for :func:`~engine.models.fit.fit_loop`.

    ``sampler``: the fit's neighbour sampler (built here when not given).
    """
    state = {"epoch": 0, "edges": 0}
    cuda = device.startswith("cuda")
    users, movies, _ = rated_pairs(train)  # once per fit: the distinct train pairs
    negatives = NegativeSampler(train, seed=seed + 1)
    if sampler is None:
        sampler = neighbor_sampler(source, fanout_dict(source, sampling))  # CSC built once

    def run(optimiser: torch.optim.Optimizer) -> float:
        left = None if sampling.max_edges is None else max(sampling.max_edges - state["edges"], 0)
        loader = link_loader(source, (users, movies), negatives, sampling, batch_size=batch_size,
                             seed=seed, epoch=state["epoch"], limit=left, pin_memory=cuda,
                             sampler=sampler)
        state["epoch"] += 1
        total, steps = 0.0, 0
        for batch in loader:
            state["edges"] += int(batch[RATES].edge_label.sum())  # positive train pairs
            _attach_edge_attr(source, batch)
            batch = batch.to(device, non_blocking=cuda)
            optimiser.zero_grad()
            loss = module.loss(source, batch)
            loss.backward()
            optimiser.step()
            total += float(loss.detach())
            steps += 1
        return total / max(steps, 1)

    run.state = state  # type: ignore[attr-defined]
    return run


def epochs_for_budget(sampling: Sampling, train_edges: int, epochs: int) -> int:
    """``epochs`` cut to the edge budget (``max_edges``) at ``epoch_edges`` per epoch.

    ``train_edges`` counts distinct pairs; the last epoch gets what is left of the budget.
    """
    if sampling.max_edges is None:
        return epochs
    per_epoch = min(sampling.epoch_edges or train_edges, train_edges)
    return max(1, min(epochs, math.ceil(sampling.max_edges / max(per_epoch, 1))))


# -- layer-wise inference -------------------------------------------------------------------

def _csc(source: GraphSource, sampler: Any) -> dict[EdgeType, tuple[Tensor, Tensor, Tensor | None]]:
    """``(row, colptr, edge_attr in CSC order)`` per relation: the neighbour sampler's own CSC.

    The rating attributes follow the sampler's edge permutation (none for a store that
    serves sorted CSC, as :class:`~engine.graphdb.pyg_store.Neo4jGraphStore` does).
    """
    store = source[1] if isinstance(source, tuple) else None
    perms = sampler.perm if isinstance(sampler.perm, dict) else {}
    out: dict[EdgeType, tuple[Tensor, Tensor, Tensor | None]] = {}
    for et in sampler.edge_types:
        if store is None:
            raw = source[et].edge_attr if "edge_attr" in source[et] else None
        else:
            raw = store.edge_attr(et) if et in (RATES, RATED_BY) and hasattr(store, "edge_attr") else None
        perm = perms.get(et)
        rel = sampler.to_rel_type[et]
        out[et] = (sampler.row_dict[rel], sampler.colptr_dict[rel],
                   raw[perm] if raw is not None and perm is not None else raw)
    return out


def _features(source: GraphSource, t: str, n: int, chunk: int) -> Tensor | None:
    if isinstance(source, HeteroData):
        return source[t].x if t in source.node_types and "x" in source[t] else None
    fs = source[0]
    if (t, "x") not in {(a.group_name, a.attr_name) for a in fs.get_all_tensor_attrs()}:
        return None
    parts = [fs.get_tensor(TensorAttr(t, "x", torch.arange(lo, min(lo + chunk, n))))
             for lo in range(0, n, chunk)]
    return torch.cat(parts) if parts else None


InferenceInputs: TypeAlias = tuple[dict[str, Tensor],
                                   dict[EdgeType, tuple[Tensor, Tensor, Tensor | None]],
                                   dict[str, int]]


def inference_inputs(source: GraphSource, chunk: int = 16_384, sampler: Any = None) -> InferenceInputs:
    """``(features, CSC per relation, node counts)`` of the whole graph, read once.

    From a store, the features of every node come in chunks of ``chunk`` nodes. The CSC is
    the fit's neighbour ``sampler``'s (one is built when none is given).
    """
    sizes = _num_nodes(source)
    x = {t: f for t in (NodeType.USER, NodeType.MOVIE)
         if (f := _features(source, t, sizes[t], chunk)) is not None}
    if sampler is None:
        sampler = neighbor_sampler(source, {et: [-1] for et in _edge_types(source)})
    return x, _csc(source, sampler), sizes


def _chunks(csc: dict[EdgeType, tuple[Tensor, Tensor, Tensor | None]], t: str, n: int,
            rows: int, edges: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` destination ranges of at most ``rows`` nodes and about ``edges`` in-edges.

    (A single node with more in-edges gets a range of its own.) Bounding the edges bounds
    the ``[E_chunk, d]`` messages of a popular movie's chunk.
    """
    degree = np.zeros(n, dtype=np.int64)
    for (_, _, dst), (_, colptr, _) in csc.items():
        if dst == t:
            degree += colptr.diff().numpy()
    cum = np.concatenate([[0], np.cumsum(degree)])
    out, lo = [], 0
    while lo < n:
        hi = int(np.searchsorted(cum, cum[lo] + edges, side="right")) - 1
        hi = min(max(hi, lo + 1), lo + rows, n)
        out.append((lo, hi))
        lo = hi
    return out


@torch.no_grad()
def layerwise_states(encoder: HeteroEncoderBase, source: GraphSource, *, chunk: int = 16_384,
                     edge_chunk: int = 1_000_000, device: str = "cpu",
                     inputs: InferenceInputs | None = None) -> dict[str, Tensor]:
    """Final layer-averaged states ``{type: [N_type, d]}`` of every node, chunk by chunk.

    Each step takes at most ``chunk`` destination nodes and about ``edge_chunk`` in-edges.
    ``inputs`` (:func:`inference_inputs`) reuses the features and CSC of earlier calls.
    """
    was_training = encoder.training
    encoder.train(False)
    x_cpu, csc, sizes = inputs if inputs is not None else inference_inputs(source, chunk)
    types = [t for t in (NodeType.USER, NodeType.MOVIE, NodeType.GENRE) if sizes.get(t, 0) > 0]
    x = {t: f.to(device) for t, f in x_cpu.items()}
    h = {k: v for k, v in encoder.node_input(x).items() if k in types}
    total = {t: v.clone() for t, v in h.items()}
    for conv_, lins_ in zip(encoder.convs, encoder.self_lins, strict=True):
        lins, conv = cast(nn.ModuleDict, lins_), cast(Any, conv_)
        new = {}
        for t in h:
            parts = []
            for lo, hi in _chunks(csc, t, sizes[t], chunk, edge_chunk):
                z = lins[t](h[t][lo:hi])
                for et, (row, colptr, attr) in csc.items():
                    if et[2] != t or et[0] not in h or et not in conv.convs:
                        continue
                    a, b = int(colptr[lo]), int(colptr[hi])
                    col = torch.repeat_interleave(torch.arange(hi - lo), colptr[lo:hi + 1].diff())
                    ei = torch.stack([row[a:b], col]).to(device)
                    layer = cast(nn.Module, conv.convs[et])
                    if encoder.uses_edge_attr and attr is not None and getattr(layer, "edge_dim", None):
                        z = z + layer((h[et[0]], h[t][lo:hi]), ei, edge_attr=attr[a:b].to(device))
                    else:
                        z = z + layer((h[et[0]], h[t][lo:hi]), ei)
                z = F.leaky_relu(z, 0.2)
                parts.append(h[t][lo:hi] + z if encoder.residual else z)
            new[t] = torch.cat(parts)
        h = new
        total = {t: total[t] + h[t] for t in total}
    encoder.train(was_training)
    return {t: v / (len(encoder.convs) + 1) for t, v in total.items()}

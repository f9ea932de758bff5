"""Mini-batch training and layer-wise inference of the heterogeneous link models (PyG loaders).

A *graph source* is what PyG's loaders accept: an in-memory ``HeteroData`` (the prepared
train graph of :func:`~engine.models.hetero.inputs.prepare_graph`) or a remote
``(FeatureStore, GraphStore)`` pair such as ReelGraph's Neo4j-backed one
(:mod:`engine.graphdb.pyg_store`), holding the same relations and z-scored features.

* **Training** (:func:`link_loader`, :class:`MiniBatchLinkNet`): PyG's stock
  ``LinkNeighborLoader`` draws a batch of train ``rated`` edges, their sampled
  neighbourhoods (``fanouts[l]`` in-neighbours per relation at hop ``l``) and uniform
  negatives -- one per positive, as ``triplet`` (BPR) or ``binary`` (BCE) pairs. The
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
from torch_geometric.sampler import NegativeSampling

from engine.data.hetero import rated_pairs
from engine.data.interactions import Interactions
from engine.errors import ParameterError
from engine.models.hetero.encoder import HeteroEncoderBase
from engine.models.hetero.sampling import neighbor_sampler
from engine.models.losses import bpr_loss
from engine.schema import RATED_BY, RATES, EdgeType, NodeType

__all__ = ["GraphSource", "MiniBatchLinkNet", "Sampling", "is_store", "layerwise_states",
           "link_loader", "parse_fanouts", "source_dims"]

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
        workers: loader worker processes (0: sample in the training process).
    """

    fanouts: tuple[int, ...] = (10, 5)
    loss: str = "bpr"
    epoch_edges: int | None = None
    max_edges: int | None = None
    chunk: int = 16_384
    workers: int = 0


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


def link_loader(source: GraphSource, train: Interactions, sampling: Sampling, *,
                batch_size: int, seed: int, epoch: int = 0, pin_memory: bool = False
                ) -> LinkNeighborLoader:
    """PyG's ``LinkNeighborLoader`` over the distinct train pairs (one epoch's share)."""
    users, movies, _ = rated_pairs(train)
    index = torch.from_numpy(np.vstack([users, movies]))
    if sampling.epoch_edges is not None and sampling.epoch_edges < index.shape[1]:
        rng = np.random.default_rng([seed, epoch])
        keep = rng.choice(index.shape[1], size=sampling.epoch_edges, replace=False)
        index = index[:, torch.from_numpy(np.sort(keep))]
    num_neighbors = {et: list(sampling.fanouts) for et in _edge_types(source)}
    neg = NegativeSampling("triplet" if sampling.loss == "bpr" else "binary", amount=1)
    return LinkNeighborLoader(
        source, num_neighbors, edge_label_index=(RATES, index), batch_size=batch_size,
        shuffle=True, neg_sampling=neg, num_workers=sampling.workers, pin_memory=pin_memory,
        neighbor_sampler=neighbor_sampler(source, num_neighbors),
    )


def _edge_types(source: GraphSource) -> list[EdgeType]:
    if isinstance(source, HeteroData):
        return list(source.edge_types)
    return sorted({attr.edge_type for attr in source[1].get_all_edge_attrs()})


def _rated_attr(source: GraphSource, batch: HeteroData, et: EdgeType) -> Tensor | None:
    if "edge_attr" in batch[et]:
        return cast(Tensor, batch[et].edge_attr)
    store = source[1] if isinstance(source, tuple) else None
    if store is not None and hasattr(store, "edge_attr") and "e_id" in batch[et]:
        return cast(Tensor, store.edge_attr(et)[batch[et].e_id.cpu()])
    return None


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
            attr = {et: a for et in (RATES, RATED_BY) if et in ei
                    and (a := _rated_attr(source, batch, et)) is not None}
            attr = {et: a.to(ei[et].device) for et, a in attr.items()}
        return cast(dict[str, Tensor], enc(x, ei, attr, n_id))

    def loss(self, source: GraphSource, batch: HeteroData) -> Tensor:
        h = self.batch_states(source, batch)
        hu, hm = h[NodeType.USER], h[NodeType.MOVIE]
        uid, mid = batch[NodeType.USER].n_id, batch[NodeType.MOVIE].n_id
        ni = self.encoder.node_input
        if self.loss_kind == "bpr":
            s, p, n = (batch[NodeType.USER].src_index, batch[NodeType.MOVIE].dst_pos_index,
                       batch[NodeType.MOVIE].dst_neg_index.reshape(-1))
            ego = (ni.user_emb(uid[s]), ni.movie_emb(mid[p]), ni.movie_emb(mid[n]))
            return bpr_loss((hu[s] * hm[p]).sum(-1), (hu[s] * hm[n]).sum(-1), ego, self.reg)
        eli, label = batch[RATES].edge_label_index, batch[RATES].edge_label
        logits = (hu[eli[0]] * hm[eli[1]]).sum(-1)
        pair = (ni.user_emb(uid[eli[0]]), ni.movie_emb(mid[eli[1]]))
        l2 = sum(e.pow(2).sum() for e in pair) / (2 * len(logits))
        return F.binary_cross_entropy_with_logits(logits, label.float()) + self.reg * l2


def run_epochs(module: MiniBatchLinkNet, source: GraphSource, train: Interactions,
               sampling: Sampling, *, batch_size: int, seed: int, device: str) -> Any:
    """``run_epoch(optimiser) -> mean loss`` for :func:`~engine.models.fit.fit_loop`."""
    state = {"epoch": 0, "edges": 0}
    cuda = device.startswith("cuda")

    def run(optimiser: torch.optim.Optimizer) -> float:
        loader = link_loader(source, train, sampling, batch_size=batch_size, seed=seed,
                             epoch=state["epoch"], pin_memory=cuda)
        state["epoch"] += 1
        total, steps = 0.0, 0
        for batch in loader:
            batch = batch.to(device, non_blocking=cuda)
            optimiser.zero_grad()
            loss = module.loss(source, batch)
            loss.backward()
            optimiser.step()
            total += float(loss.detach())
            steps += 1
            state["edges"] += int(batch[RATES].edge_label.sum() if sampling.loss == "bce"
                                  else batch[NodeType.USER].src_index.numel())  # positives
        return total / max(steps, 1)

    run.state = state  # type: ignore[attr-defined]
    return run


def epochs_for_budget(sampling: Sampling, train_edges: int, epochs: int) -> int:
    """``epochs`` cut to the edge budget (``max_edges``) at ``epoch_edges`` per epoch."""
    if sampling.max_edges is None:
        return epochs
    per_epoch = min(sampling.epoch_edges or train_edges, train_edges)
    return max(1, min(epochs, math.ceil(sampling.max_edges / max(per_epoch, 1))))


# -- layer-wise inference -------------------------------------------------------------------

def _csc(source: GraphSource) -> dict[EdgeType, tuple[Tensor, Tensor, Tensor | None]]:
    """``(row, colptr, edge_attr in CSC order)`` per relation of the source."""
    out: dict[EdgeType, tuple[Tensor, Tensor, Tensor | None]] = {}
    sizes = _num_nodes(source)
    if isinstance(source, HeteroData):
        for et in source.edge_types:
            src, dst = source[et].edge_index
            order = torch.argsort(dst * max(sizes[et[0]], 1) + src)
            counts = torch.bincount(dst, minlength=sizes[et[2]])
            colptr = torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)])
            attr = source[et].edge_attr[order] if "edge_attr" in source[et] else None
            out[et] = (src[order], colptr, attr)
        return out
    store = source[1]
    rows, colptrs, _ = store.csc()
    for et in rows:
        attr = store.edge_attr(et) if et in (RATES, RATED_BY) and hasattr(store, "edge_attr") else None
        out[et] = (rows[et], colptrs[et], attr)
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


@torch.no_grad()
def layerwise_states(encoder: HeteroEncoderBase, source: GraphSource, *, chunk: int = 16_384,
                     device: str = "cpu") -> dict[str, Tensor]:
    """Final layer-averaged states ``{type: [N_type, d]}`` of every node, chunk by chunk."""
    was_training = encoder.training
    encoder.train(False)
    sizes = _num_nodes(source)
    types = [t for t in (NodeType.USER, NodeType.MOVIE, NodeType.GENRE) if sizes.get(t, 0) > 0]
    x = {t: f.to(device) for t in (NodeType.USER, NodeType.MOVIE)
         if (f := _features(source, t, sizes[t], chunk)) is not None}
    h = {k: v for k, v in encoder.node_input(x).items() if k in types}
    total = {t: v.clone() for t, v in h.items()}
    csc = _csc(source)
    for conv_, lins_ in zip(encoder.convs, encoder.self_lins, strict=True):
        lins, conv = cast(nn.ModuleDict, lins_), cast(Any, conv_)
        new = {}
        for t in h:
            parts = []
            for lo in range(0, sizes[t], chunk):
                hi = min(lo + chunk, sizes[t])
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

"""Link prediction over the heterogeneous train graph: encoder + dot decoder + BPR.

:class:`HeteroLinkNet` holds the prepared train graph (:func:`prepare_graph`) as buffers,
runs the encoder on its ``x_dict`` / ``edge_index_dict`` and scores ``s(u, i) = h_u · h_i``;
:class:`HeteroLinkRecommender` is the BPR-trained recommender the hetero SAGE and GAT
models share (subclasses supply the encoder).
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torch_geometric.data import HeteroData

from engine.data.interactions import Interactions
from engine.errors import ParameterError
from engine.models.fit import fit_loop
from engine.models.hetero.encoder import HeteroEncoderBase
from engine.models.hetero.inputs import node_sizes, num_genres, prepare_graph, to_adj_t
from engine.models.hetero.minibatch import (
    MINIBATCH_EDGES,
    GraphSource,
    MiniBatchLinkNet,
    Sampling,
    epochs_for_budget,
    fanout_dict,
    inference_inputs,
    is_store,
    layerwise_states,
    parse_fanouts,
    run_epochs,
    source_dims,
)
from engine.models.hetero.sampling import neighbor_sampler
from engine.models.history import FitHistory
from engine.models.losses import bpr_loss
from engine.models.params import check_choice, check_int
from engine.models.torch_base import TorchBPRRecommender, embedding_ndcg
from engine.schema import HAS_MOVIE, IN_GENRE, RATED_BY, RATES, EdgeType, NodeType

if TYPE_CHECKING:
    from engine.models.base import GraphInput

__all__ = ["HeteroLinkNet", "HeteroLinkRecommender"]

Graph = tuple[dict[str, torch.Tensor], dict[EdgeType, torch.Tensor], dict[EdgeType, torch.Tensor]]


class HeteroLinkNet(nn.Module):
    """Encoder over the fixed train graph + dot-product decoder + BPR loss.

    ``s(u, i) = h_u · h_i`` with ``h = encoder(x_dict, edge_index_dict)``;
    ``L = mean softplus(-(s(u,p) - s(u,n))) + reg * (|e_u|² + |e_p|² + |e_n|²) / (2B)``
    where ``e`` are the layer-0 id embeddings of the batch rows (LightGCN-style L2).
    The z-scored rating of each train edge is the ``edge_attr`` (``[E, 1]``; SAGE ignores
    it, GAT can attend on it).
    """

    user_x: torch.Tensor
    movie_x: torch.Tensor
    edge_attr: torch.Tensor
    edge_index: torch.Tensor
    genre_edges: torch.Tensor

    def __init__(self, encoder: HeteroEncoderBase, graph: HeteroData, reg: float) -> None:
        super().__init__()
        self.encoder, self.reg = encoder, reg
        self.register_buffer("user_x", graph[NodeType.USER].x, persistent=False)
        self.register_buffer("movie_x", graph[NodeType.MOVIE].x, persistent=False)
        self.register_buffer("edge_attr", graph[RATES].edge_attr, persistent=False)
        self.register_buffer("edge_index", graph[RATES].edge_index, persistent=False)
        genres = num_genres(graph)
        self.with_genres = genres > 0
        self.register_buffer("genre_edges", graph[IN_GENRE].edge_index if self.with_genres
                             else torch.zeros((2, 0), dtype=torch.long), persistent=False)
        self.sizes = node_sizes(graph[NodeType.USER].num_nodes, graph[NodeType.MOVIE].num_nodes,
                                genres)
        self._graph: Graph | None = None

    def graph(self) -> Graph:
        """``(x_dict, edge_index_dict, edge_attr_dict)`` of the train graph.

        For encoders with ``sparse = True`` the edges come as cached CSR ``adj_t``
        matrices ``[N_dst, N_src]`` (one sparse product per relation instead of a
        gather/scatter; the edges are distinct, so the result is the same).
        """
        if self._graph is not None and self._graph[1][RATES].device == self.edge_index.device:
            return self._graph
        ei: dict[EdgeType, torch.Tensor] = {RATES: self.edge_index,
                                            RATED_BY: self.edge_index.flip(0)}
        if self.with_genres:
            ei[IN_GENRE], ei[HAS_MOVIE] = self.genre_edges, self.genre_edges.flip(0)
        if getattr(self.encoder, "sparse", False):
            ei = to_adj_t(ei, self.sizes)
        x = {NodeType.USER: self.user_x, NodeType.MOVIE: self.movie_x}
        self._graph = (x, ei, {RATES: self.edge_attr, RATED_BY: self.edge_attr})
        return self._graph

    def embed(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Final ``(user [U,d], movie [I,d])`` states."""
        x, ei, attr = self.graph()
        h = self.encoder(x, ei, attr)
        return h[NodeType.USER], h[NodeType.MOVIE]

    def bpr_loss(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        """BPR over one full-graph forward pass."""
        hu, hi = self.embed()
        u, p, n = hu[users], hi[pos], hi[neg]
        ni = self.encoder.node_input
        ego = (ni.user_emb(users), ni.movie_emb(pos), ni.movie_emb(neg))
        return bpr_loss((u * p).sum(-1), (u * n).sum(-1), ego, self.reg)


class HeteroLinkRecommender(TorchBPRRecommender):
    """BPR-trained hetero GNN recommender; subclasses supply :meth:`_encoder`.

    Two ways to train (``minibatch``):

    * **full graph** (small graphs): every step propagates over the whole train graph;
    * **mini-batch** (``minibatch=true``, or ``auto`` above
      :data:`~engine.models.hetero.minibatch.MINIBATCH_EDGES` train edges, or whenever
      ``graph`` is a ``(FeatureStore, GraphStore)`` pair): PyG's ``LinkNeighborLoader``
      with ``fanouts`` per hop, BPR or BCE (``loss``) on sampled negatives, an optional
      edge budget (``max_edges``) and edges per epoch (``epoch_edges``); final states by
      chunked layer-wise inference (:mod:`engine.models.hetero.minibatch`).
    """

    needs_graph = True
    reads_stores = True
    num_layers: int

    def _sampling_params(self, minibatch: Any, fanouts: Any, loss: str, epoch_edges: Any,
                         max_edges: Any) -> None:
        if minibatch not in ("auto", True, False):
            raise ParameterError(f"parameter minibatch={minibatch!r} must be auto, true or false")
        self.minibatch = minibatch
        self.fanouts = ",".join(str(f) for f in parse_fanouts(fanouts))
        self.loss = check_choice("loss", loss, ("bpr", "bce"))
        self.epoch_edges = None if epoch_edges is None else check_int("epoch_edges", epoch_edges, 1)
        self.max_edges = None if max_edges is None else check_int("max_edges", max_edges, 1)

    def sampling(self) -> Sampling:
        return Sampling(fanouts=parse_fanouts(self.fanouts), loss=self.loss,
                        epoch_edges=self.epoch_edges, max_edges=self.max_edges)

    def uses_minibatch(self, train: Interactions, graph: GraphInput | None) -> bool:
        """Whether ``fit`` samples (see the class docstring for the rule)."""
        if is_store(graph):
            return True
        if self.minibatch == "auto":
            return len(train) > MINIBATCH_EDGES
        return bool(self.minibatch)

    def _fit(self, train: Interactions, valid: Interactions | None,
             graph: GraphInput | None) -> FitHistory:
        if not self.uses_minibatch(train, graph):  # never a store pair (that samples)
            return super()._fit(train, valid, graph)
        return self._fit_minibatch(train, valid, graph)

    def _fit_minibatch(self, train: Interactions, valid: Interactions | None,
                       graph: GraphInput | None) -> FitHistory:
        s, sampling = self.settings, self.sampling()
        torch.manual_seed(s.seed)
        np.random.seed(s.seed)
        source: GraphSource = graph if isinstance(graph, tuple) else prepare_graph(train, graph)
        dims = source_dims(source)
        if (dims["num_users"], dims["num_items"]) != (train.num_users, train.num_items):
            raise ParameterError(f"the graph has {dims['num_users']} users and {dims['num_items']} "
                                 f"movies; train has {train.num_users} and {train.num_items}")
        if len(sampling.fanouts) != self.num_layers:
            raise ParameterError(f"parameter fanouts={self.fanouts} gives {len(sampling.fanouts)} "
                                 f"hops; expected one per layer (num_layers={self.num_layers})")
        module = MiniBatchLinkNet(self._encoder(dims), self.reg, self.loss).to(s.device)
        sampler = neighbor_sampler(source, fanout_dict(source, sampling))  # one CSC per fit
        inputs = inference_inputs(source, sampling.chunk, sampler)  # features read once per fit

        def states() -> tuple[torch.Tensor, torch.Tensor]:
            h = layerwise_states(module.encoder, source, chunk=sampling.chunk, device=s.device,
                                 inputs=inputs)
            return h[NodeType.USER], h[NodeType.MOVIE]

        run = run_epochs(module, source, train, sampling, batch_size=s.batch_size,
                         seed=s.seed, device=s.device, sampler=sampler)
        assert self._seen is not None  # the distinct train pairs (set by fit)
        budget = s.updated(epochs=epochs_for_budget(sampling, int(self._seen.nnz), s.epochs))
        evaluate = embedding_ndcg(states, train, valid)
        history = fit_loop(module, run, budget, evaluate=evaluate, metric="ndcg@10")
        history.info["edges_trained"] = float(run.state["edges"])
        self.module = module
        u, i = states()
        self.user_emb = u.cpu().numpy().astype(np.float32)
        self.item_emb = i.cpu().numpy().astype(np.float32)
        return history

    def _final_embeddings(self, module: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        assert isinstance(module, HeteroLinkNet)
        return module.embed()

    @abc.abstractmethod
    def _encoder(self, dims: dict[str, Any]) -> HeteroEncoderBase:
        """A fresh encoder (a pure nn.Module) for the node counts and feature widths ``dims``."""

    def _build(self, train: Interactions, graph: GraphInput | None) -> nn.Module:
        assert not isinstance(graph, tuple)
        prepared = prepare_graph(train, graph)
        return HeteroLinkNet(self._encoder(source_dims(prepared)), prepared, self.reg)

"""The reference system: ``torch_geometric.nn.models.LightGCN`` under our contract.

Used by the benchmark to compare against. Training follows PyG's
``examples/lightgcn.py``: ``edge_index`` holds both directions of every train edge
(users ``0..U-1``, items ``U..U+I-1``), each step recomputes the full propagation with
``LGConv`` message passing (normalisation + per-edge gather/scatter), ranks
``(u, pos)`` and ``(u, neg)`` pairs and applies ``recommendation_loss`` (BPR with
``lambda_reg`` L2 on the batch's ego embeddings).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
import torch
from torch import nn
from torch_geometric.nn.models import LightGCN

from engine.data.interactions import Interactions
from engine.models.lightgcn import LightGCNCSR

if TYPE_CHECKING:

    from engine.models.base import GraphInput

__all__ = ["PyGLightGCN", "PyGLightGCNNet"]


def bipartite_edge_index(train: Interactions) -> torch.Tensor:
    """Undirected ``edge_index`` ``[2, 2E]`` of the train graph (duplicates merged)."""
    key = np.unique(train.user.astype(np.int64) * train.num_items + train.item)
    u, i = key // train.num_items, key % train.num_items + train.num_users
    return torch.from_numpy(np.stack([np.r_[u, i], np.r_[i, u]]))


class PyGLightGCNNet(nn.Module):
    """Adapter giving PyG's ``LightGCN`` the ``bpr_loss`` interface of our trainer."""

    def __init__(
        self, num_users: int, num_items: int, dim: int, num_layers: int, reg: float,
        edge_index: torch.Tensor,
    ) -> None:
        super().__init__()
        self.num_users, self.reg = num_users, reg
        self.net = LightGCN(num_users + num_items, dim, num_layers)
        self.register_buffer("edge_index", edge_index, persistent=False)

    def bpr_loss(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        """PyG example's loss: ``recommendation_loss(pos_rank, neg_rank, node_id=...)``."""
        src = torch.cat([users, users])
        dst = torch.cat([pos, neg]) + self.num_users
        label_index = torch.stack([src, dst])
        pos_rank, neg_rank = self.net(self.edge_index, label_index).chunk(2)
        return self.net.recommendation_loss(
            pos_rank, neg_rank, node_id=label_index.unique(), lambda_reg=self.reg
        )

    def split(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Propagated ``(user [U,d], item [I,d])`` embeddings."""
        e = self.net.get_embedding(self.edge_index)
        return e[: self.num_users], e[self.num_users :]


class PyGLightGCN(LightGCNCSR):
    """PyG ``LightGCN`` trained with our BPR loop (reference system for the benchmark).

    Same hyper-parameters and training loop as :class:`LightGCNCSR` (inherited), only the
    network differs: PyG's per-edge message passing instead of the cached CSR operator.
    """

    name: ClassVar[str] = "pyg_lightgcn"

    def _build(self, train: Interactions, graph: GraphInput | None) -> nn.Module:
        return PyGLightGCNNet(train.num_users, train.num_items, self.dim, self.num_layers,
                              self.reg, bipartite_edge_index(train))

    def _final_embeddings(self, module: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        assert isinstance(module, PyGLightGCNNet)
        return module.split()

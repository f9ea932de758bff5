"""ReelGraph engine: Neo4j subgraph -> PyG HeteroData -> GNN -> write-back, plus the CLI."""

__version__ = "0.1.0"

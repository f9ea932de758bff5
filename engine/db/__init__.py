"""A real local Neo4j 5.26 Community from Maven Central jars (``engine db``)."""

from engine.db.process import ServerStatus, free_port, port_in_use
from engine.db.runtime import NEO4J_VERSION, RuntimeSetupError, ensure_runtime
from engine.db.server import LocalServer, ServerError

__all__ = [
    "NEO4J_VERSION",
    "LocalServer",
    "RuntimeSetupError",
    "ServerError",
    "ServerStatus",
    "ensure_runtime",
    "free_port",
    "port_in_use",
]

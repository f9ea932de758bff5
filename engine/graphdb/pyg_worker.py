"""One Neo4j driver per process for the PyG stores, so DataLoader workers never share sockets.

PyG's ``DataLoader`` workers (``num_workers > 0``) run the feature store's reads in child
processes. A driver must never cross a process boundary: after ``fork`` the child holds
copies of the parent's Bolt sockets, and two processes talking on one socket mix their
responses; under ``spawn`` / ``forkserver`` a driver does not pickle at all.
:class:`DriverHandle` therefore holds *how* to connect (a :class:`Neo4jSettings`) and
opens the driver lazily, once per process:

* **pickling** (``spawn``, ``forkserver``, ``persistent_workers``) keeps the settings and
  the database and drops the driver; the worker opens its own on first use;
* **fork** is recognised by ``os.getpid()`` changing: the child leaves the parent's
  driver untouched (never used, never closed: closing it would say goodbye on the
  parent's sockets) and opens a fresh one;
* a driver the handle opened is closed when the handle is collected or the process
  exits (also in a DataLoader worker), and only by the process that opened it.

Credentials: a handle built from settings carries them, password included, inside the
pickled ``Neo4jSettings`` (to spawned workers only; never on a command line). A handle
built on a bare driver knows no credentials: a worker process then reads them from the
environment or ``.env`` (``NEO4J_URI``, ``NEO4J_USER``, ``NEO4J_PASSWORD``,
:meth:`Neo4jSettings.from_env`). Build the stores from settings for ``num_workers > 0``.
"""

from __future__ import annotations

import logging
import os
import threading
from multiprocessing import util as mp_util
from typing import Any

import neo4j

from engine.graphdb.driver import connect as open_driver
from engine.graphdb.runner import Runner
from engine.settings import Neo4jSettings, load_dotenv_file

__all__ = ["DriverHandle"]

log = logging.getLogger(__name__)

#: Drivers inherited through ``fork``: kept referenced so the child never collects them.
_INHERITED: list[neo4j.Driver] = []


def _close(driver: neo4j.Driver, pid: int) -> None:
    """Close ``driver`` if this process opened it (a forked child must not)."""
    if os.getpid() != pid:
        return
    try:
        driver.close()
    except Exception:  # noqa: BLE001 - closing at exit: nothing useful to do with an error
        log.debug("closing a PyG store's Neo4j driver failed", exc_info=True)


class DriverHandle:
    """A per-process Neo4j driver for one database (see module docstring).

    Args:
        source: the connection settings (the handle opens and owns a driver), or an open
            driver (used in this process only; not closed by the handle).
        database: the database; default: the settings' (``"neo4j"`` for a driver).
    """

    def __init__(self, source: neo4j.Driver | Neo4jSettings, database: str | None = None) -> None:
        self.settings: Neo4jSettings | None = source if isinstance(source, Neo4jSettings) else None
        self.database = database or (self.settings.database if self.settings else "neo4j")
        self._driver: neo4j.Driver | None = None if self.settings else source  # type: ignore[assignment]
        self._runner: Runner | None = None
        self._finalizer: Any = None
        self._pid = os.getpid()
        self._lock = threading.Lock()

    # -- pickling: settings and database only -------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {"settings": self.settings, "database": self.database}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.settings, self.database = state["settings"], state["database"]
        self._driver, self._runner, self._finalizer = None, None, None
        self._pid = os.getpid()
        self._lock = threading.Lock()

    # -- the driver of this process -------------------------------------------------------
    def _check_process(self) -> None:
        pid = os.getpid()
        if pid == self._pid:
            return
        # A forked child: the parent's driver (and its sockets) stay the parent's.
        if self._driver is not None:
            _INHERITED.append(self._driver)
        self._driver, self._runner, self._finalizer = None, None, None
        self._pid = pid
        self._lock = threading.Lock()

    def _settings_for_worker(self) -> Neo4jSettings:
        if self.settings is not None:
            return self.settings
        load_dotenv_file()
        settings = Neo4jSettings.from_env(database=self.database)
        log.info("PyG store in process %d: connecting to %s from the environment (the store "
                 "was built on a driver)", os.getpid(), settings.redacted())
        return settings

    def driver(self) -> neo4j.Driver:
        """The driver of the current process, opened on first use."""
        self._check_process()
        if self._driver is None:
            with self._lock:
                if self._driver is None:
                    driver = open_driver(self._settings_for_worker())
                    self._finalizer = mp_util.Finalize(self, _close, args=(driver, os.getpid()),
                                                       exitpriority=10)
                    self._driver = driver
        return self._driver

    def runner(self) -> Runner:
        """A :class:`Runner` on this process's driver."""
        self._check_process()
        runner = self._runner
        if runner is None:
            runner = self._runner = Runner(self.driver(), self.database)
        return runner

    @property
    def owns_driver(self) -> bool:
        """Whether the handle opened the current driver (and will close it)."""
        return self._finalizer is not None

    def close(self) -> None:
        """Close the driver this handle opened in this process (a driver passed in stays open)."""
        self._check_process()
        if self._finalizer is not None:
            self._finalizer()  # runs _close once
            self._driver, self._runner, self._finalizer = None, None, None

"""One write-back at a time, enforced by the database: the ``:WritebackLease`` node.

A write-back first takes the lease (``cypher/writeback/lease_acquire``): a single node
under a uniqueness constraint (:data:`engine.schema.UNIQUE_KEYS`) holding its ``owner``
(host:pid:random) and ``expiresAt``. Taking it write-locks the node before reading it,
so of two writers starting at once exactly one gets it; the other waits (``wait_s``,
``engine writeback --wait``) or fails at once with :class:`LeaseHeldError`, naming the
holder and when the lease expires.

While it works, a heartbeat thread renews the lease every ``ttl_s / 3`` seconds. A writer
that crashes stops renewing, so its lease expires after ``ttl_s`` (default
:data:`LEASE_TTL_S`) and the next writer takes it over (at once, when the holder was a
process of the same host that is gone: :func:`holder_is_dead`); that writer also cleans up the
crashed one's half-written run (:func:`engine.graphdb.runs.clean_orphans`). The steps
that decide what readers see -- claiming an embedding slot and the switch -- check in the
same transaction that the lease is still this writer's (``$lease``/``$owner`` guards), so
a writer that lost its lease (it stalled longer than ``ttl_s``) cannot switch.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Final

from engine.errors import ReelGraphError
from engine.graphdb.runner import Runner

log = logging.getLogger(__name__)

LEASE_NAME: Final = "writeback"
#: Seconds a lease lasts without renewal (a crashed writer's lease is free after this).
LEASE_TTL_S: Final = 60.0
#: ``--wait``: how long a second writer waits for the lease at most.
WAIT_MAX_S: Final = 3600.0


class LeaseHeldError(ReelGraphError):
    """Another write-back holds the lease (and this one does not wait)."""


class LeaseLostError(ReelGraphError):
    """The write-back's lease expired or was taken over before it finished."""


def _pid_namespace() -> str:
    """The pid namespace of this process (``ns<inode>``; ``""`` where /proc has none)."""
    try:
        return f"ns{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return ""


def new_owner() -> str:
    """``host:pid:ns<inode>.random``: who holds a lease, readable in Neo4j Browser.

    The pid namespace tells two containers that share a hostname apart (host networking),
    so a pid is only ever judged in the namespace it belongs to (:func:`holder_is_dead`).
    """
    ns = _pid_namespace()
    return f"{socket.gethostname()}:{os.getpid()}:{ns + '.' if ns else ''}{secrets.token_hex(4)}"


def holder_is_dead(owner: str) -> bool:
    """Whether ``owner`` (:func:`new_owner`) is a process of this host that no longer exists.

    A killed writer's lease is then free at once; on another host, or when the pid is
    alive (or reused), the lease's expiry decides.
    """
    host, _, rest = owner.partition(":")
    pid, _, tail = rest.partition(":")
    ns = _pid_namespace()
    if (host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid()
            or not ns or not tail.startswith(ns + ".")):
        return False  # another machine or pid namespace (or an owner without one): expiry decides
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, another user's
        return False
    return False


@dataclass
class Lease:
    """The write-back lease of one database, held by :attr:`owner` between acquire and release."""

    runner: Runner
    ttl_s: float = LEASE_TTL_S
    owner: str = field(default_factory=new_owner)
    name: str = LEASE_NAME
    #: what holds it, in messages ("write-back"; "refresh" for the live lease of engine refresh)
    what: str = "write-back"
    lost: bool = False
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _beat: threading.Thread | None = field(default=None, repr=False)

    @property
    def params(self) -> dict[str, str]:
        """``$lease`` / ``$owner`` of the statements that must run under the lease."""
        return {"lease": self.name, "owner": self.owner}

    def _ttl(self) -> int:
        return max(1, round(self.ttl_s))

    def try_acquire(self, dead_owner: str | None = None) -> dict[str, object]:
        """One attempt; the row says whether it was acquired and who holds the lease.

        ``dead_owner``: a holder known to be dead (see :func:`holder_is_dead`), taken over
        at once instead of after its expiry.
        """
        return self.runner.write("writeback/lease_acquire", **self.params, ttlSeconds=self._ttl(),
                                 deadOwner=dead_owner)[0]

    def acquire(self, wait_s: float | None = None, poll_s: float = 0.5) -> None:
        """Take the lease, waiting up to ``wait_s`` seconds (``None``: do not wait)."""
        self.runner.write("schema/constraint_writebacklease")  # graphs loaded by older versions
        deadline = time.monotonic() + (wait_s or 0.0)
        announced = False
        while True:
            row = self.try_acquire()
            if not row["acquired"] and holder_is_dead(str(row["owner"])):
                log.warning("the %s lease of %s is taken over: that process is gone (killed?)",
                            self.what, row["owner"])
                row = self.try_acquire(dead_owner=str(row["owner"]))
            if row["acquired"]:
                break
            if wait_s is None or time.monotonic() >= deadline:
                how = ("re-run with --wait to queue behind it" if wait_s is None
                       else f"waited {wait_s:.0f}s")
                raise LeaseHeldError(
                    f"another {self.what} is running (lease held by {row['owner']} since "
                    f"{row['acquiredAt']}, expires {row['expiresAt']} unless renewed); {how}. "
                    f"A crashed writer's lease expires by itself within {self._ttl()}s."
                )
            if not announced:
                log.warning("waiting for the %s lease held by %s", self.what, row["owner"])
                announced = True
            time.sleep(poll_s)
        self._stop.clear()
        self._beat = threading.Thread(target=self._heartbeat, name="writeback-lease", daemon=True)
        self._beat.start()
        log.info("write-back lease taken by %s", self.owner)

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            try:
                renewed = self.runner.write("writeback/lease_renew", **self.params,
                                            ttlSeconds=self._ttl())[0]["renewed"]
            except Exception as exc:  # noqa: BLE001 - retried at the next beat; expiry is the limit
                log.warning("could not renew the write-back lease: %s", exc)
                continue
            if not renewed:
                self.lost = True
                log.error("the write-back lease of %s was lost", self.owner)
                return

    def check(self) -> None:
        """Raise :class:`LeaseLostError` if the heartbeat found the lease gone."""
        if self.lost:
            raise LeaseLostError(self.lost_message())

    def lost_message(self) -> str:
        return (f"the write-back lease of {self.owner} expired or was taken over before the "
                "switch (was this process paused?); readers keep the previous run. Re-run the "
                "same command: it resumes the run")

    def release(self) -> None:
        """Stop the heartbeat and delete the lease (best effort: it expires anyway)."""
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
        try:
            self.runner.write("writeback/lease_release", **self.params)
        except Exception as exc:  # noqa: BLE001 - never hide the write-back's own error
            log.warning("could not release the write-back lease (it expires in %ss): %s",
                        self._ttl(), exc)


@contextmanager
def hold(runner: Runner, *, wait_s: float | None = None, ttl_s: float = LEASE_TTL_S,
         name: str = LEASE_NAME, what: str = "write-back") -> Iterator[Lease]:
    """Hold the lease ``name`` for the ``with`` block (see the module docstring).

    The write-back's is :data:`LEASE_NAME`; ``engine refresh`` holds its own (``"live"``),
    so one refresher runs per database beside at most one write-back.
    """
    lease = Lease(runner, ttl_s=ttl_s, name=name, what=what)
    lease.acquire(wait_s)
    try:
        yield lease
    finally:
        lease.release()

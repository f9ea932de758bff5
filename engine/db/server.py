"""Run a real Neo4j 5.26 Community server from Maven jars: ``engine db start|stop|status``.

The server is Neo4j's own entry point (``org.neo4j.server.CommunityEntryPoint``), the
same class the official Docker image execs, started with a ``neo4j.conf`` that binds
Bolt and HTTP to 127.0.0.1 only. The data directory holds everything of one instance::

    DATA_DIR/conf/neo4j.conf        written at every start from ServerSettings
    DATA_DIR/data/                  the store (persists across stop/start)
    DATA_DIR/logs/console.log       the server's output (``engine db logs``)
    DATA_DIR/run/server.json        pid, ports, version of the running process
    DATA_DIR/reelgraph-credentials.json   generated password (mode 0600), if any

Several instances may run at once on different data directories and ports.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

from engine.db.process import (
    ENTRY_POINT,
    PRIVATE_UMASK,
    ServerStatus,
    dir_size,
    jvm_env,
    pid_alive,
    pid_is_our_server,
    port_in_use,
    reap,
)
from engine.db.runtime import (
    NEO4J_VERSION,
    PLUGINS,
    Runtime,
    RuntimeSetupError,
    ensure_runtime,
    with_plugins,
)
from engine.errors import ReelGraphError
from engine.graphdb import GraphConnectionError, Runner, connect, wait_until_ready
from engine.settings import (
    DEFAULT_USER,
    Neo4jSettings,
    ServerSettings,
    default_cache_dir,
    read_local_credentials,
)

log = logging.getLogger(__name__)

_JVM_FLAGS = (
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Djdk.tls.ephemeralDHKeySize=2048",
    "-Djdk.tls.rejectClientInitiatedRenegotiation=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
)


class ServerError(ReelGraphError):
    """The local server could not be started, stopped or inspected."""


class LocalServer:
    """One local Neo4j instance, identified by its data directory."""

    def __init__(self, settings: ServerSettings, cache_dir: Path | None = None) -> None:
        self.settings = settings
        self.home = settings.data_dir.expanduser().resolve()
        self.cache_dir = cache_dir or default_cache_dir()
        self._last_settings: ServerSettings | None = None

    # -- paths -------------------------------------------------------------------------
    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "console.log"

    @property
    def state_file(self) -> Path:
        return self.home / "run" / "server.json"

    # -- state -------------------------------------------------------------------------
    def _read_state(self) -> dict[str, object] | None:
        if not self.state_file.is_file():
            return None
        try:
            return dict(json.loads(self.state_file.read_text()))
        except (OSError, ValueError):
            return None

    def running_pid(self) -> int | None:
        """Pid of this data directory's live server, cleaning up a stale state file."""
        state = self._read_state()
        if state is None:
            return None
        pid = int(state["pid"])  # type: ignore[call-overload]
        if pid_alive(pid) and pid_is_our_server(pid, self.home):
            return pid
        self.state_file.unlink(missing_ok=True)
        return None

    def client_settings(self) -> Neo4jSettings:
        """How to connect to this instance (its generated password if it has one)."""
        state = self._read_state() or {}
        port = int(state.get("bolt_port", self.settings.bolt_port))  # type: ignore[call-overload]
        creds = read_local_credentials(self.home)
        user, password = creds if creds else (DEFAULT_USER, os.environ.get("NEO4J_PASSWORD"))
        return Neo4jSettings(uri=f"bolt://127.0.0.1:{port}", user=user, password=password)

    def running_settings(self) -> ServerSettings:
        """The settings the running (or last) server was started with, for a restart."""
        state = self._read_state() or {}
        s = self.settings
        return ServerSettings(
            self.home,
            int(state.get("bolt_port", s.bolt_port)),  # type: ignore[call-overload]
            int(state.get("http_port", s.http_port)),  # type: ignore[call-overload]
            str(state.get("heap", s.heap)),
            str(state.get("pagecache", s.pagecache)),
            tuple(state.get("plugins", s.plugins)),  # type: ignore[arg-type]
        )

    def running_plugins(self) -> tuple[str, ...]:
        """The optional plugins the running server loaded (``()`` if none or not running)."""
        return tuple((self._read_state() or {}).get("plugins", ()))  # type: ignore[arg-type]

    def _runtime(self) -> Runtime:
        try:
            return with_plugins(ensure_runtime(self.cache_dir), self.settings.plugins)
        except RuntimeSetupError as exc:
            raise ServerError(str(exc)) from exc

    def admin_command(self, *args: str, heap: str = "1g") -> tuple[list[str], dict[str, str]]:
        """The argv and environment of ``neo4j-admin ARGS`` for this instance (same jars, conf).

        ``neo4j-admin`` is ``org.neo4j.cli.AdminTool`` on the server's classpath; it finds
        the store through ``NEO4J_HOME``/``NEO4J_CONF`` exactly as the server does.
        """
        runtime = self._runtime()
        if not (self.conf_dir / "neo4j.conf").is_file():
            self._write_conf(runtime)
        argv = [
            runtime.java, f"-Xmx{heap}", *_JVM_FLAGS, "-cp", runtime.classpath,
            "org.neo4j.cli.AdminTool", *args,
        ]
        return argv, jvm_env(self.home, self.conf_dir)

    # -- config ------------------------------------------------------------------------
    def _write_conf(self, runtime: Runtime) -> None:
        s = self.settings
        lines = [
            "# Written by `engine db start` at every start; edit ServerSettings, not this file.",
            "server.default_listen_address=127.0.0.1",
            "server.default_advertised_address=127.0.0.1",
            f"server.bolt.listen_address=127.0.0.1:{s.bolt_port}",
            f"server.bolt.advertised_address=127.0.0.1:{s.bolt_port}",
            "server.http.enabled=true",
            f"server.http.listen_address=127.0.0.1:{s.http_port}",
            f"server.http.advertised_address=127.0.0.1:{s.http_port}",
            "server.https.enabled=false",
            f"server.directories.plugins={runtime.plugins}",
            f"server.directories.import={self.home / 'import'}",
            f"server.memory.pagecache.size={s.pagecache}",
            "dbms.security.auth_enabled=true",
            "dbms.security.procedures.unrestricted="
            + ",".join(["apoc.*", *(PLUGINS[p].procedures for p in s.plugins)]),
            "dbms.usage_report.enabled=false",
            "db.tx_log.preallocate=false",
            "db.tx_log.rotation.retention_policy=2 files",
            "server.logs.gc.enabled=false",
            # Bolt's netty event loops otherwise idle 2x5 s in a "quiet period" on shutdown,
            # after the databases are already checkpointed and closed: stop takes 0.5 s, not 10.
            "internal.dbms.bolt.netty_server_shutdown_quiet_period=0",
        ]
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        extra = self.home / "neo4j-extra.conf"
        if extra.is_file():  # user overrides survive restarts
            lines.append(extra.read_text())
        (self.conf_dir / "neo4j.conf").write_text("\n".join(lines) + "\n")

    def _set_initial_password(self, runtime: Runtime) -> None:
        """First start only: set neo4j's password (given, or generated and kept 0600).

        The password never appears on a command line (``ps`` shows every argv) nor in a JVM's
        environment: it goes to ``neo4j-admin dbms set-initial-password`` in a picocli
        argument file (``@FILE``, mode 0600, deleted right after), see :func:`password_argfile`.
        neo4j-admin runs with umask 077, so the ``auth.ini`` it writes is 0600 from the start.
        """
        auth_ini = self.home / "data" / "dbms" / "auth.ini"
        if auth_ini.exists():
            auth_ini.chmod(0o600)  # servers created before it was private
            return
        password = os.environ.get("NEO4J_PASSWORD")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(18)
        assert password is not None
        env = jvm_env(self.home, self.conf_dir)
        argfile = self.home / "run" / "initial-password.args"
        argfile.parent.mkdir(parents=True, exist_ok=True)
        argfile.unlink(missing_ok=True)
        fd = os.open(argfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(password_argfile(password))
            proc = subprocess.run(
                # file.encoding: Java 17 would read the argument file in the locale's charset
                [runtime.java, "-Dfile.encoding=UTF-8", "-cp", runtime.classpath,
                 "org.neo4j.cli.AdminTool", "dbms", "set-initial-password", f"@{argfile}"],
                env=env, capture_output=True, text=True, check=False, umask=PRIVATE_UMASK,
            )
        finally:
            argfile.unlink(missing_ok=True)
        if proc.returncode != 0:
            raise ServerError(f"could not set the initial password: {proc.stderr or proc.stdout}")
        auth = self.home / "data" / "dbms" / "auth.ini"
        if auth.exists():
            auth.chmod(0o600)  # 0600 from creation through the umask; this guards a later Neo4j version
        if generated:
            path = self.settings.credentials_path
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(fd, 0o600)  # O_CREAT's mode applies to a new file only
            with os.fdopen(fd, "w") as fh:
                json.dump({"user": DEFAULT_USER, "password": password}, fh)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, timeout: float = 180.0) -> ServerStatus:
        """Start the server and wait until Bolt answers; raise :class:`ServerError`."""
        pid = self.running_pid()
        if pid is not None:
            raise ServerError(
                f"a Neo4j server already runs on {self.home} (pid {pid}); "
                f"stop it with `engine db stop --data-dir {self.home}` or pick another --data-dir"
            )
        s = self.settings
        for what, port in (("Bolt", s.bolt_port), ("HTTP", s.http_port)):
            if port_in_use(port):
                flag = "--bolt-port" if what == "Bolt" else "--http-port"
                raise ServerError(
                    f"{what} port {port} is already in use on 127.0.0.1 (another Neo4j?). "
                    f"Stop that process or choose another port with {flag} N."
                )
        runtime = self._runtime()
        for sub in ("data", "logs", "run", "import", "conf"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        self._write_conf(runtime)
        self._set_initial_password(runtime)

        cmd = [
            runtime.java, f"-Xms{min_heap(s.heap)}", f"-Xmx{s.heap}", *_JVM_FLAGS,
            "-cp", runtime.classpath, ENTRY_POINT,
            f"--home-dir={self.home}", f"--config-dir={self.conf_dir}", "--console-mode",
        ]
        log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        started = time.time()
        with open(self.log_file, "ab") as out:
            proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.home, start_new_session=True, env=jvm_env(self.home, self.conf_dir),
            )
        state = {
            "pid": proc.pid, "bolt_port": s.bolt_port, "http_port": s.http_port,
            "version": runtime.version, "started_at": started, "heap": s.heap,
            "pagecache": s.pagecache, "plugins": list(s.plugins),
        }
        self.state_file.write_text(json.dumps(state))
        try:
            wait_until_ready(self.client_settings(), timeout, alive=lambda: proc.poll() is None)
        except GraphConnectionError as exc:
            tail = self._log_tail(40, since=log_offset)
            if proc.poll() is None:
                self._terminate(proc.pid, grace=30)
            self.state_file.unlink(missing_ok=True)
            raise ServerError(f"Neo4j did not start: {exc}\n--- {self.log_file} ---\n{tail}") from exc
        return self.status()

    def stop(self, timeout: float = 120.0) -> bool:
        """Clean shutdown (SIGTERM -> Neo4j's shutdown hook); False if nothing ran."""
        pid = self.running_pid()
        if pid is None:
            return False
        self._last_settings = self.running_settings()
        self._terminate(pid, grace=timeout)
        self.state_file.unlink(missing_ok=True)
        return True

    def reopen(self, timeout: float = 300.0) -> Neo4jSettings:
        """Start again with the settings it last ran with (after :meth:`stop`); client settings."""
        server = LocalServer(self._last_settings or self.running_settings(), self.cache_dir)
        server.start(timeout=timeout)
        return server.client_settings()

    def _terminate(self, pid: int, grace: float) -> None:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                reap(pid)
                return
            time.sleep(0.2)
        log.warning("Neo4j (pid %d) did not stop within %.0fs; killing it", pid, grace)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        reap(pid)

    def status(self) -> ServerStatus:
        """Running or not, with version, URIs, pid and store size."""
        pid = self.running_pid()
        store = dir_size(self.home / "data") if (self.home / "data").exists() else 0
        if pid is None:
            return ServerStatus(running=False, data_dir=self.home, store_bytes=store)
        state = self._read_state() or {}
        client = self.client_settings()
        version = str(state.get("version", NEO4J_VERSION))
        edition = None
        try:
            with connect(client) as driver:
                row = Runner(driver, "system").read("admin/components")[0]
                version, edition = row["version"], row["edition"]
        except GraphConnectionError as exc:
            log.warning("server process is up but Bolt does not answer: %s", exc)
        http_port = int(state.get("http_port", self.settings.http_port))  # type: ignore[call-overload]
        return ServerStatus(
            running=True, data_dir=self.home, pid=pid, bolt_uri=client.uri,
            http_url=f"http://127.0.0.1:{http_port}", version=version, edition=edition,
            store_bytes=store, plugins=self.running_plugins(),
            uptime_s=time.time() - float(state.get("started_at", time.time())),  # type: ignore[arg-type]
        )

    def _log_tail(self, lines: int, since: int = 0) -> str:
        if not self.log_file.exists():
            return "(no log yet)"
        with open(self.log_file, "rb") as fh:
            fh.seek(since)
            data = fh.read().decode(errors="replace")
        return "\n".join(data.splitlines()[-lines:])

    def logs(self, lines: int = 50) -> str:
        """The last ``lines`` lines of the server's console log."""
        return self._log_tail(lines)


def password_argfile(password: str) -> str:
    """The text of a picocli ``@FILE`` holding ``-- "password"`` (one quoted argument).

    picocli splits an argument file like a shell with Java's ``StreamTokenizer``: inside
    double quotes a backslash escapes a backslash, a quote, ``n`` (newline) and ``r``
    (carriage return); everything else is literal. ``--`` ends the options, so a password
    starting with ``-`` is not read as one.
    """
    quoted = (password.replace("\\", "\\\\").replace('"', '\\"')
              .replace("\n", "\\n").replace("\r", "\\r"))
    return f'-- "{quoted}"\n'


def min_heap(heap: str) -> str:
    """Initial heap: the max heap up to 512m, else 512m (quick start, no over-commit)."""
    units = {"k": 1 / 1024, "m": 1, "g": 1024}
    try:
        mb = float(heap[:-1]) * units[heap[-1].lower()]
    except (KeyError, ValueError) as exc:
        raise ServerError(f"heap size {heap!r} is not like '512m' or '2g'") from exc
    return heap if mb <= 512 else "512m"

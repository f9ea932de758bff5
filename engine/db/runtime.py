"""Fetch a real Neo4j 5.26 Community runtime (jars) from Maven Central with Maven.

The jars land in ``<cache>/neo4j-<version>/lib`` (server + Neo4j Browser) and
``.../plugins`` (APOC core). Optional plugins (``engine db start --plugins gds``) are
fetched on first use into ``.../plugins-<name>``. A marker file written last makes a
half-finished fetch look absent, and a lock file keeps two concurrent ``engine db start``
runs from fetching into the same folder at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from engine.db.process import secret_free_env
from engine.errors import ReelGraphError

log = logging.getLogger(__name__)

NEO4J_VERSION = "5.26.19"
_MARKER = ".reelgraph-complete"


class RuntimeSetupError(ReelGraphError):
    """Java or Maven is missing or the jars could not be fetched."""


@dataclass(frozen=True)
class Runtime:
    """A fetched Neo4j runtime: ``java`` binary, ``lib`` and ``plugins`` folders."""

    java: str
    java_version: int
    lib: Path
    plugins: Path
    version: str = NEO4J_VERSION

    @property
    def classpath(self) -> str:
        return f"{self.plugins}/*{os.pathsep}{self.lib}/*"


@dataclass(frozen=True)
class Plugin:
    """An optional server plugin: its pom, the procedures it adds, its licence."""

    pom: str
    procedures: str
    licence: str
    #: The plugin's own modules carry this version; they are never taken for a duplicate
    #: of a server jar with the same artifact id (GDS has its own ``annotations``).
    version: str


#: ``engine db start --plugins NAME``.
PLUGINS: dict[str, Plugin] = {
    "gds": Plugin(
        "gds-pom.xml", "gds.*",
        "OpenGDS 2.13.9 (Neo4j Graph Data Science, open-source edition), GPLv3; "
        "the Community build runs at most 4 threads",
        "2.13.9",
    ),
}


def check_plugins(names: tuple[str, ...]) -> tuple[str, ...]:
    """The names, each known, else a one-line :class:`RuntimeSetupError`."""
    for name in names:
        if name not in PLUGINS:
            raise RuntimeSetupError(
                f"unknown plugin {name!r}: expected one of {', '.join(sorted(PLUGINS))}"
            )
    return names


def _pom_text(name: str) -> str:
    return resources.files("engine.db").joinpath("java", name).read_text(encoding="utf-8")


def find_java() -> tuple[str, int]:
    """The ``java`` to use (``$JAVA_HOME/bin/java`` first) and its major version."""
    home = os.environ.get("JAVA_HOME")
    candidate = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not candidate or not Path(candidate).exists():
        raise RuntimeSetupError(
            "Java not found: Neo4j 5.26 needs Java 17 or 21. Install it "
            "(e.g. `apt-get install openjdk-17-jre-headless`) or set JAVA_HOME."
        )
    out = subprocess.run([candidate, "-version"], capture_output=True, text=True, check=False,
                         env=secret_free_env())
    text = out.stderr + out.stdout
    match = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if not match:
        raise RuntimeSetupError(f"could not read the Java version from {candidate}: {text!r}")
    major = int(match.group(1))
    if major == 1 and match.group(2):  # "1.8" style
        major = int(match.group(2))
    if major < 17:
        raise RuntimeSetupError(
            f"{candidate} is Java {major}; Neo4j 5.26 needs Java 17 or 21 (set JAVA_HOME)."
        )
    if major not in (17, 21):
        log.warning("Java %d is not a version Neo4j 5.26 supports (17 or 21); trying anyway", major)
    return candidate, major


def find_maven() -> str:
    """The ``mvn`` binary (``$MAVEN`` first)."""
    mvn = os.environ.get("MAVEN") or shutil.which("mvn")
    if not mvn:
        raise RuntimeSetupError(
            "Maven not found: `engine db` fetches Neo4j's jars from Maven Central with Maven. "
            "Install it (e.g. `apt-get install maven`), set MAVEN=/path/to/mvn, or use "
            "docker compose / NEO4J_URI instead of a local server."
        )
    return mvn


def _fingerprint(*poms: str) -> str:
    digest = hashlib.sha256()
    for name in poms or ("pom.xml", "apoc-pom.xml"):
        digest.update(_pom_text(name).encode())
    return digest.hexdigest()[:16]


def _artifact(jar: Path) -> str:
    """``slf4j-api-2.0.16.jar`` -> ``slf4j-api``."""
    return re.sub(r"-\d[\w.\-]*\.jar$", "", jar.name)


def _mvn_copy(mvn: str, pom_text: str, out: Path, workdir: Path) -> None:
    pom = workdir / f"pom-{hashlib.sha1(pom_text.encode()).hexdigest()[:8]}.xml"
    pom.write_text(pom_text, encoding="utf-8")
    cmd = [
        mvn, "-B", "-q", "-f", str(pom), "dependency:copy-dependencies",
        "-DincludeScope=runtime", f"-DoutputDirectory={out}",
    ]
    log.info("fetching jars: %s", " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=secret_free_env())
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
        raise RuntimeSetupError(
            f"Maven could not fetch the Neo4j jars (exit {proc.returncode}). Is Maven Central "
            f"reachable? Last output:\n{tail}"
        )


def ensure_runtime(cache_dir: Path, *, with_apoc: bool = True) -> Runtime:
    """Return the cached runtime, fetching it first if needed (idempotent, concurrency-safe)."""
    java, java_version = find_java()
    root = cache_dir / f"neo4j-{NEO4J_VERSION}"
    lib, plugins = root / "lib", root / "plugins"
    fingerprint = _fingerprint()
    marker = root / _MARKER
    if marker.is_file() and marker.read_text().strip() == fingerprint:
        return Runtime(java, java_version, lib, plugins)

    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.is_file() and marker.read_text().strip() == fingerprint:
            return Runtime(java, java_version, lib, plugins)
        mvn = find_maven()
        with tempfile.TemporaryDirectory(dir=root, prefix=".fetch-") as tmp:
            tmp_path = Path(tmp)
            new_lib, new_plugins = tmp_path / "lib", tmp_path / "plugins"
            _mvn_copy(mvn, _pom_text("pom.xml"), new_lib, tmp_path)
            new_plugins.mkdir()
            if with_apoc:
                _mvn_copy(mvn, _pom_text("apoc-pom.xml"), new_plugins, tmp_path)
                have = {_artifact(j) for j in new_lib.glob("*.jar")}
                for jar in new_plugins.glob("*.jar"):
                    if _artifact(jar) in have:
                        jar.unlink()
            for old in (lib, plugins):
                if old.exists():
                    shutil.rmtree(old)
            new_lib.rename(lib)
            new_plugins.rename(plugins)
        marker.write_text(fingerprint)
    return Runtime(java, java_version, lib, plugins)


def with_plugins(runtime: Runtime, names: tuple[str, ...]) -> Runtime:
    """``runtime`` loading the optional plugins ``names`` too, fetching any missing first.

    Each plugin's jars go to ``<root>/plugins-<name>`` (own marker and lock); a jar whose
    artifact the server's ``lib`` or APOC already has is dropped, so one class is never on
    the classpath twice (the plugin's own modules, of its version, always stay). Neo4j
    registers procedures only from its one plugins folder, so the result's ``plugins`` is
    ``<root>/plugins+<names>``: hard links to APOC's jars and each plugin's.
    """
    if not names:
        return runtime
    extra = []
    root = runtime.lib.parent
    for name in check_plugins(names):
        plugin = PLUGINS[name]
        folder = root / f"plugins-{name}"
        fingerprint = _fingerprint(plugin.pom)
        marker = folder / _MARKER
        if not (marker.is_file() and marker.read_text().strip() == fingerprint):
            with open(root / ".lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not (marker.is_file() and marker.read_text().strip() == fingerprint):
                    _fetch_plugin(find_maven(), plugin, folder, runtime)
                    marker.write_text(fingerprint)
        extra.append(folder)
    combined = root / ("plugins+" + "+".join(sorted(names)))
    stamp = "\n".join(sorted(str(j) for d in (runtime.plugins, *extra) for j in d.glob("*.jar")))
    marker = combined / _MARKER
    if not (marker.is_file() and marker.read_text() == stamp):
        with open(root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with tempfile.TemporaryDirectory(dir=root, prefix=".link-") as tmp:
                new = Path(tmp) / "jars"
                new.mkdir()
                for jar in stamp.splitlines():
                    os.link(jar, new / Path(jar).name)
                (new / _MARKER).write_text(stamp)
                if combined.exists():
                    shutil.rmtree(combined)
                new.rename(combined)
    return replace(runtime, plugins=combined)


def _fetch_plugin(mvn: str, plugin: Plugin, folder: Path, runtime: Runtime) -> None:
    log.warning("fetching %s from Maven Central (first use)", plugin.licence.split(";")[0])
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".fetch-") as tmp:
        new = Path(tmp) / "jars"
        _mvn_copy(mvn, _pom_text(plugin.pom), new, Path(tmp))
        have = {_artifact(j) for d in (runtime.lib, runtime.plugins) for j in d.glob("*.jar")}
        for jar in new.glob("*.jar"):
            if _artifact(jar) in have and not jar.name.endswith(f"-{plugin.version}.jar"):
                jar.unlink()
        if folder.exists():
            shutil.rmtree(folder)
        new.rename(folder)

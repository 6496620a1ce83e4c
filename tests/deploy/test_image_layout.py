"""deploy/docker/Dockerfile without Docker: its COPY and RUN steps replayed
into a scratch directory (the build context filtered by .dockerignore, the
same pip install of the package, the compiled engine checked), then every
role started as its container would be: the image's ENTRYPOINT and CMD, its
ENV, its working directory, as a user who cannot write the installed files
(the read-only root filesystem) with only the data volume and /tmp
writable, each declared healthy by the image's own HEALTHCHECK command.

What differs from a container, on purpose: the base image's Python is this
machine's; the builder's apt-get step is skipped (the machine's C compiler,
which .ci/run installs, compiles the engine); pip may use its cache
(``--no-cache-dir`` and ``PIP_NO_CACHE_DIR`` are dropped: the image's layer
must not keep one, the test need not download everything again); the ports
are free ones on 127.0.0.1 instead of the image's fixed ones on 0.0.0.0
(other tests share the machine); the user is ``nobody`` when the test runs
as root (else the installed files are made read-only); the compiled modules
are built at the C compiler's -O0 (``STX_MYPYC_OPT_LEVEL=0``, setup.py: half
the build's CPU time, 24 s against 47 s here; this test checks what is built,
not how fast it runs). The store is SQLite in the volume and the shared
state in-process, as in the chart's defaults; compose's PostgreSQL and Redis
are covered by the other tests. The relay writes to a throwaway Redis
(tests/throwaway.py), the log its container needs.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
import redis

from server.compiled import SOURCES
from server.metrics.exposition import OFFSETS, OPTIONAL_OFFSETS
from tests.deploy.dockerfile import Stage, dockerignore, ignored, parse
from tests.e2e.serve import free_port, free_port_block

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
IMAGE_PREFIX = "/opt/stx"
START_ORDER = (
    "core", "gateway", "projector", "surveillance", "feed", "analytics", "fix", "relay", "rest"
)  # fmt: skip
HEALTHY_WITHIN = 120.0
BUILD_WITHIN = 840.0
"""The install and the engine's compilation: 250 s on a loaded 2-core machine."""
CONFINE = (
    'mount --bind "$1" "$1" && mount --bind "$2" "$2" && mount -o remount,bind,ro / && '
    'mount --bind "$3" "$3" && mount -o remount,bind,ro "$3" && shift 3 && exec "$@"'
)
"""In a mount namespace of its own: the volume and /tmp bound onto
themselves (mounts of their own stay writable), then the root filesystem
and the installed files read-only, as a container with readOnlyRootFilesystem."""
ADMIN_PASSWORD = "layout test operator password"


@dataclass
class Image:
    root: Path
    """The scratch directory: ``src`` (the build stage), ``opt`` (the venv
    at /opt/stx), ``data`` (the volume), ``tmp`` (the tmpfs)."""
    runtime: Stage

    @property
    def opt(self) -> Path:
        return self.root / "opt"

    def path(self, text: str) -> str:
        return text.replace(IMAGE_PREFIX, str(self.opt))


def _copy(source: Path, destination: Path, patterns: list[str]) -> None:
    """COPY ``source`` (a file or a folder's contents) to ``destination``,
    leaving out what .dockerignore excludes."""
    files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    for file in files:
        relative = file.relative_to(ROOT).as_posix()
        if ignored(patterns, relative):
            continue
        target = (
            destination / file.name if source.is_file() else destination / file.relative_to(source)
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, target)


def _run_step(command: str, cwd: Path, environ: dict[str, str]) -> None:
    """A RUN step in a process group of its own, killed whole if the test
    is stopped (pip's build runs the compiler in grandchildren)."""
    log = cwd.parent / "build.log"
    with log.open("wb") as output:
        step = subprocess.Popen(
            ["bash", "-o", "pipefail", "-c", command],
            cwd=cwd,
            env=environ,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code = step.wait(timeout=BUILD_WITHIN)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(step.pid, signal.SIGKILL)
    assert code == 0, f"{command}:\n{log.read_text()[-4000:]}"


def _build(scratch: Path) -> Image:
    builder, runtime = parse(DOCKERFILE)
    patterns = dockerignore(ROOT / ".dockerignore")
    (workdir,) = builder.all("WORKDIR")
    assert workdir == "/src"
    src = scratch / "src"
    for text in builder.all("COPY"):
        *sources, destination = text.split()
        for source in sources:
            _copy(ROOT / source, src / destination, patterns)
    assert not list(src.rglob("*.so")), "a compiled module from the work tree was copied"
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("STX_", "VIRTUAL_ENV"))}
    environ.update(builder.environment())
    environ.pop("PIP_NO_CACHE_DIR")
    environ["STX_MYPYC_OPT_LEVEL"] = "0"
    environ["PATH"] = f"{Path(sys.executable).parent}:{environ['PATH']}"
    image = Image(scratch, runtime)
    for text in builder.all("RUN"):
        if "apt-get" in text:
            continue
        command = image.path(text).replace("--no-cache-dir ", "")
        _run_step(command, src, environ)
    for text in runtime.all("COPY"):
        source, destination = text.split()[-2:]
        if text.startswith("--from=builder"):
            assert source == destination == IMAGE_PREFIX
            continue
        shutil.copy2(ROOT / source, image.path(destination))
    return image


@pytest.fixture(scope="module")
def image() -> Iterator[Image]:
    # Not under pytest's tmp_path: its folders are 0700, and the processes
    # run as another user who must reach the installed files.
    scratch = Path(tempfile.mkdtemp(prefix="stx-image-"))
    scratch.chmod(0o755)
    try:
        umask = os.umask(0o022)  # an image's files are readable by its user
        try:
            built = _build(scratch)
        finally:
            os.umask(umask)
        yield built
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _file_set(directory: Path) -> dict[str, float]:
    return {str(path): path.stat().st_mtime for path in directory.rglob("*")}


class Containers:
    """The roles of one deployment started as their containers would be."""

    def __init__(self, image: Image, log_url: str) -> None:
        self.image = image
        self.log_url = log_url
        """The committed log the relay writes (its container's STX_RELAY_URL)."""
        self.data = image.root / "data"
        self.tmp = image.root / "tmp"
        self.secrets = image.root / "secrets"
        for directory in (self.data, self.tmp):
            directory.mkdir(mode=0o700)
        self.secrets.mkdir(mode=0o755)
        key = self.secrets / "data-key"
        key.write_text("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n")  # 32 bytes
        self.as_root = os.geteuid() == 0
        key.chmod(0o400)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.base = free_port_block()
        self.ports = {
            "STX_GRPC_PORT": str(free_port()),
            "STX_REST_PORT": str(free_port()),
            "STX_FEED_PORT": str(free_port()),
            "STX_SNAPSHOT_PORT": str(free_port()),
        }
        # The FIX gateway's sessions come from a configuration file, mounted
        # read-only as the chart's ConfigMap and compose's fix.toml are.
        fix = self.secrets / "fix.toml"
        fix.write_text(
            f"[fix]\nport = {free_port()}\n\n[[fix.sessions]]\n"
            'target_comp_id = "CLIENT1"\naccounts = ["layout-1"]\n'
        )
        self.arguments = {"fix": ["--config", str(fix)]}
        """Each role's options after ``ROLE`` on its command line."""

    def environ(self, role: str) -> dict[str, str]:
        """The image's ENV, then what compose and the chart set."""
        environ = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
        for key, value in self.image.runtime.environment().items():
            environ[key] = self.image.path(value).replace("$PATH", environ.get("PATH", ""))
        assert environ["STX_DATA_DIR"] == "/data"
        environ.update(
            STX_DATA_DIR=str(self.data),
            STX_LISTEN_ADDRESS="127.0.0.1",
            STX_METRICS_PORT=str(self.base),
            STX_DATA_KEY_FILE=str(self.secrets / "data-key"),
            TMPDIR=str(self.tmp),
            **self.ports,
        )
        if role == "gateway":
            environ.update(STX_ADMIN_USERNAME="admin", STX_ADMIN_PASSWORD=ADMIN_PASSWORD)
        if role == "relay":
            environ.update(STX_RELAY_URL=self.log_url)
        return environ

    def confined(self, argv: list[str]) -> list[str]:
        """``argv`` where only the volume and /tmp can be written: a
        read-only mount namespace as root; otherwise the installed files are
        made read-only (``readonly_install``) and the rest is not the
        user's to write."""
        if not self.as_root:
            return argv
        paths = (str(self.data), str(self.tmp), str(self.image.opt))
        return ["unshare", "--mount", "--", "sh", "-c", CONFINE, "sh", *paths, *argv]

    def readonly_install(self) -> None:
        if not self.as_root:
            for path in self.image.opt.rglob("*"):
                if not path.is_symlink():
                    mode = path.stat().st_mode
                    path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))

    def start(self, role: str) -> None:
        entrypoint = self.image.runtime.exec_form("ENTRYPOINT")
        environ = self.environ(role)
        program = shutil.which(entrypoint[0], path=environ["PATH"])
        assert program is not None
        assert program.startswith(str(self.image.opt))
        self.processes[role] = subprocess.Popen(
            self.confined([program, *entrypoint[1:], role, *self.arguments.get(role, [])]),
            cwd=self.data,
            env=environ,
            stdout=subprocess.DEVNULL,
            stderr=open(self.image.root / f"{role}.log", "wb"),  # noqa: SIM115
        )

    def healthcheck(self, role: str) -> subprocess.CompletedProcess[bytes]:
        """The image's HEALTHCHECK command, given the role (a container's
        check finds it in PID 1's command line)."""
        health = self.image.runtime.all("HEALTHCHECK")[-1]
        command = [self.image.path(word) for word in _exec_form_after_cmd(health)]
        environ = self.environ(role)
        program = shutil.which(command[0], path=environ["PATH"])
        assert program is not None
        assert program.startswith(str(self.image.opt))
        return subprocess.run(
            [program, *command[1:], role, *self.arguments.get(role, [])],
            env=environ,
            cwd=self.data,
            capture_output=True,
            timeout=30,
            check=False,
        )

    def wait_healthy(self, role: str) -> None:
        deadline = time.monotonic() + HEALTHY_WITHIN
        while True:
            process = self.processes[role]
            if process.poll() is not None:
                log = (self.image.root / f"{role}.log").read_text()[-3000:]
                raise AssertionError(f"{role} exited {process.returncode}:\n{log}")
            result = self.healthcheck(role)
            if result.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{role} not healthy: {result.stderr.decode()}")
            time.sleep(0.5)

    def stop(self, role: str) -> int:
        process = self.processes.pop(role)
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise

    def stop_all(self) -> None:
        for role in reversed(START_ORDER):
            if role in self.processes:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.stop(role)


def _exec_form_after_cmd(healthcheck: str) -> list[str]:
    import json  # noqa: PLC0415

    words: list[str] = json.loads(healthcheck.split(" CMD ", 1)[1])
    return words


# The first test builds the image (the fixture), which takes longer than
# the suite's default timeout on a loaded machine.
@pytest.mark.timeout(BUILD_WITHIN + 60)
def test_the_image_is_built_with_the_compiled_engine(image: Image) -> None:
    """The build step's own checks (``matching.BUILD == 'compiled'``,
    ``python -m server.compiled``) passed; the venv's engine modules and the
    server's compiled ones are extension modules, beside their shared libraries."""
    (site,) = image.opt.glob("lib/python*/site-packages")
    assert list((site / "matching").glob("engine.*.so"))
    assert list(site.glob("server__mypyc.*.so"))
    for source in SOURCES:
        module = site / source
        assert list(module.parent.glob(f"{module.stem}.*.so")), source
    assert (image.opt / "bin" / "stx").exists()
    assert (image.opt / "healthcheck.py").exists()
    assert not (site / "tests").exists()


@pytest.mark.timeout(BUILD_WITHIN + 60)
def test_every_role_starts_healthy_as_its_container(image: Image, fresh_redis_url: str) -> None:
    containers = Containers(image, f"{fresh_redis_url}?stream=stx:layout")
    containers.readonly_install()
    for directory, writable in ((image.opt, False), (containers.data, True)):
        touch = containers.confined(["touch", str(directory / "probe")])
        result = subprocess.run(touch, capture_output=True, check=False, timeout=30)
        assert (result.returncode == 0) is writable, (directory, result.stderr)
    (containers.data / "probe").unlink()
    installed = _file_set(image.opt)
    try:
        for role in START_ORDER:
            containers.start(role)
            if role in ("core", "gateway"):  # the others wait for them
                containers.wait_healthy(role)
        for role in START_ORDER[2:]:
            containers.wait_healthy(role)
        assert set(containers.processes) == set(OFFSETS) | set(OPTIONAL_OFFSETS)
        assert _file_set(image.opt) == installed, "a process wrote outside the volume"
        assert (containers.data / "tls" / "ca.pem").exists()
        assert (containers.data / "analytics.duckdb").exists()
        assert (containers.data / "fix.db").exists()
        assert list(containers.data.glob("journal-*.log"))
        # The check fails for a role that is down.
        assert containers.stop("rest") == 0
        assert containers.healthcheck("rest").returncode == 1
        roles = ("relay", "fix", "analytics", "feed", "surveillance", "projector", "gateway")
        for role in (*roles, "core"):
            assert containers.stop(role) == 0, role
        # Every committed record went onto the log, record n as entry n-1.
        sent = int((containers.data / "relay.position").read_text())
        log = redis.Redis.from_url(fresh_redis_url)
        try:
            assert sent > 0
            assert log.xlen("stx:layout") == sent
            last = log.xinfo_stream("stx:layout")["last-generated-id"]
            assert last == f"{sent}-1".encode()
        finally:
            log.close()
    finally:
        containers.stop_all()


def _healthcheck_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "healthcheck", ROOT / "deploy" / "docker" / "healthcheck.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_healthcheck_reads_the_containers_command_line(tmp_path: Path) -> None:
    healthcheck = _healthcheck_module()
    command = ["/opt/stx/bin/python", "/opt/stx/bin/stx", "serve", "gateway", "--grpc-port", "6000"]
    arguments = healthcheck.serve_arguments(command)
    assert arguments == ["gateway", "--grpc-port", "6000"]
    config = tmp_path / "stx.toml"
    config.write_text(
        '[server]\nrest_port = 8443\n[[instruments]]\nsymbol = "X"\ntick_size = "0.01"\n'
    )
    role, settings = healthcheck.settings_of([*arguments, f"--config={config}"])
    assert (role, settings.grpc_port, settings.rest_port) == ("gateway", 6000, 8443)
    fix = tmp_path / "fix.toml"
    fix.write_text('[fix]\nport = 9979\n[[fix.sessions]]\ntarget_comp_id = "C"\naccounts = ["a"]\n')
    role, settings = healthcheck.settings_of(["fix", "--config", str(fix)])
    assert (role, settings.fix.port) == ("fix", 9979)
    role, _ = healthcheck.settings_of(["relay", "--data-dir", str(tmp_path)])
    assert (role, healthcheck.port_of(role, 9100)) == ("relay", 9109)
    role, _ = healthcheck.settings_of(["standby", "--primary", "10.0.0.1:9400"])
    assert (role, healthcheck.port_of(role, 9100)) == ("standby", 9101)
    assert healthcheck.serve_arguments(["nginx", "-g", "daemon off;"]) == []
    assert healthcheck.main(["nonsense"]) == 1

"""Which code a server benchmark runs: this tree, or a commit checked out
beside it to compare against.

An older commit runs from a temporary ``git worktree`` with this venv's
Python and ``PYTHONPATH`` pointing at that worktree (its packages and its
generated protobuf code come first on the path, before this tree's editable
install), so both sides share the interpreter and the libraries and differ
only in the exchange's own code. The load generator is always this tree's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""This tree: the directory holding ``server/``, ``clients/`` and ``protos/``."""


class SourceError(RuntimeError):
    """The revision to compare against cannot be checked out."""


@dataclass(frozen=True)
class Source:
    """Code to run ``stx serve`` from."""

    label: str
    commit: str
    root: Path
    tls: bool
    """Whether this code's server speaks TLS (``STX_TLS_ENABLED``)."""
    pythonpath: str | None = None
    """``PYTHONPATH`` for its server; None: this tree, as installed."""
    build: str = ""
    """What its modules run as: which of them load compiled extension modules."""

    def environ(self, base: dict[str, str]) -> dict[str, str]:
        if self.pythonpath is None:
            return base
        return {**base, "PYTHONPATH": self.pythonpath}


def _git(*arguments: str, cwd: Path = ROOT) -> str:
    try:
        done = subprocess.run(
            ["git", *arguments], cwd=cwd, capture_output=True, text=True, check=True, timeout=120
        )
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        detail = getattr(error, "stderr", None) or str(error)
        raise SourceError(f"git {' '.join(arguments)}: {detail.strip()}") from None
    return done.stdout.strip()


def _speaks_tls(root: Path) -> bool:
    # The switch every TLS-capable server reads; older commits have no TLS.
    config = root / "server" / "config.py"
    return config.is_file() and "tls_from_environ" in config.read_text()


def this_tree() -> Source:
    """The code installed in this venv; its commit, marked if files changed."""
    try:
        commit = _git("rev-parse", "--short=10", "HEAD")
        if _git("status", "--porcelain", "--untracked-files=no"):
            commit += "+changes"
    except SourceError:
        commit = "unknown"
    return Source("this tree", commit, ROOT, _speaks_tls(ROOT), build=_build_of(ROOT))


def _build_of(root: Path) -> str:
    """Which modules of ``root`` load compiled: those with an extension module
    beside their source, which Python's import system prefers (``"pure"``
    throughout with ``STX_PURE_ENGINE``, which the servers inherit)."""
    if os.environ.get("STX_PURE_ENGINE"):
        return "pure (STX_PURE_ENGINE)"
    compiled = sorted(
        ".".join(source.relative_to(root).with_suffix("").parts)
        for package in ("matching", "server", "feeds")
        for source in (root / package).rglob("*.py")
        if any(source.parent.glob(f"{source.stem}.*.so"))
    )
    engine = [name for name in compiled if name.startswith("matching.")]
    others = [name for name in compiled if not name.startswith("matching.")]
    parts = [f"engine compiled ({len(engine)} modules)" if engine else "engine pure"]
    parts.append("compiled: " + ", ".join(others) if others else "server pure")
    return "; ".join(parts)


BUILD_INPUTS = ("setup.py", "pyproject.toml", "constraints.txt", "matching", "feeds", "server")
"""What a compiled build is made from: the build's own files and every
package mypyc reads (a compiled module's code depends on the types of what
it imports, compiled or not)."""


def _extensions(root: Path) -> list[Path]:
    """``root``'s extension modules: the groups' shared libraries and the
    module beside each compiled source."""
    found = list(root.glob("*__mypyc.*.so"))
    for package in ("matching", "feeds", "server"):
        found += (root / package).rglob("*.so")
    return sorted(found)


def _reuse_this_build(worktree: Path, commit: str) -> bool:
    """Copy this tree's extension modules into ``worktree`` when they are the
    build its commit would make: the commit's build inputs are this tree's,
    unchanged since they were compiled. Building them again takes a minute or
    more on a small machine, for the same bytes."""
    extensions = _extensions(ROOT)
    if os.environ.get("STX_PURE_ENGINE") or not extensions:
        return False
    try:
        changed = _git("status", "--porcelain", "--", *BUILD_INPUTS)
        different = _git("diff", "--name-only", commit, "HEAD", "--", *BUILD_INPUTS)
    except SourceError:
        return False
    if changed or different:
        return False
    sources = [
        path
        for name in BUILD_INPUTS
        for path in ([ROOT / name] if (ROOT / name).is_file() else (ROOT / name).rglob("*.py"))
    ]
    if max(path.stat().st_mtime for path in sources) > min(
        extension.stat().st_mtime for extension in extensions
    ):
        return False  # a source edited after the build: this tree's modules are stale
    for extension in extensions:
        shutil.copy2(extension, worktree / extension.relative_to(ROOT))
    return True


def _compile(worktree: Path, commit: str) -> None:
    """Build the checkout's extension modules in place, as its ``make`` would
    (decision 0005): the baseline runs the build its commit ships, not its
    pure source. A failed build leaves it pure, which its ``build`` says."""
    if _reuse_this_build(worktree, commit):
        return
    if (worktree / "setup.py").is_file():
        subprocess.run(
            [sys.executable, "setup.py", "--quiet", "build_ext", "--inplace"],
            cwd=worktree, capture_output=True, timeout=1800, check=False,
        )  # fmt: skip


def _check_imports(worktree: Path, pythonpath: str) -> None:
    """Fail unless this venv's Python, given ``pythonpath``, imports the
    server and the generated code from ``worktree``: otherwise the "baseline"
    would silently be this tree again."""
    probe = "import server, stocktraderx; print(server.__file__); print(stocktraderx.__file__)"
    done = subprocess.run(
        [sys.executable, "-c", probe], env={**os.environ, "PYTHONPATH": pythonpath},
        cwd=worktree.parent, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    found = done.stdout.split()
    if (
        done.returncode
        or len(found) != 2
        or not all(Path(path).resolve().is_relative_to(worktree.resolve()) for path in found)
    ):
        raise SourceError(f"the checked-out code does not import from {worktree}: "
                          f"{done.stdout.strip()} {done.stderr.strip()[-500:]}")  # fmt: skip


@contextmanager
def checked_out(revision: str) -> Iterator[Source]:
    """``revision`` in a temporary worktree for as long as the block runs."""
    commit = _git("rev-parse", "--verify", "--short=10", f"{revision}^{{commit}}")
    with tempfile.TemporaryDirectory(prefix="stx-bench-baseline-") as scratch:
        worktree = Path(scratch) / "tree"
        _git("worktree", "add", "--detach", str(worktree), commit)
        try:
            path = os.pathsep.join((str(worktree), str(worktree / "protos" / "gen" / "python")))
            _check_imports(worktree, path)
            _compile(worktree, commit)
            build = _build_of(worktree)
            yield Source(revision, commit, worktree, _speaks_tls(worktree), path, build)
        finally:
            _git("worktree", "remove", "--force", str(worktree))

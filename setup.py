"""Build the matching engine's and the server's hot modules with mypyc, or install them pure.

Everything else about the package is declared in pyproject.toml; this file
only adds the compiled extension modules (docs/decisions/0005-compiled-engine.md,
0008-compiled-server-modules.md). The same ``.py`` source is both the pure
build and the input of the compiled one; mypyc (part of the mypy wheel) is
needed at build time only.

When the modules cannot be compiled (no C compiler, no Python headers, mypyc
missing) the install goes on without them, pure Python, with a warning:
``python -c "import matching; print(matching.BUILD)"`` says which build runs.
``STX_PURE_ENGINE=1`` at build time skips compilation on purpose.
``STX_MYPYC_OPT_LEVEL`` (0-3, default 3) is the C compiler's optimisation:
0 builds several times faster and runs slower, for tests that check what is
built rather than how fast it runs (tests/deploy/test_image_layout.py).
"""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import BaseError, CCompilerError

ROOT = Path(__file__).parent
GROUP = "matching"
"""Name of mypyc's shared library (``matching__mypyc``), beside the package."""
SERVER_GROUP = "server"
"""The server's compiled modules' shared library (``server__mypyc``): a group of
its own, so that editing one of them does not recompile the engine."""


def _server_sources() -> tuple[str, ...]:
    """``server/compiled.py``'s ``SOURCES``, read without importing the package."""
    tree = ast.parse((ROOT / "server" / "compiled.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and ast.unparse(node.target) == "SOURCES":
            assert node.value is not None
            return tuple(ast.literal_eval(node.value))
    raise LookupError("server/compiled.py defines no SOURCES")


SERVER_SOURCES = _server_sources()

NOT_COMPILED = frozenset(
    {
        # They choose the build (``STX_PURE_ENGINE``) before any other engine
        # module is imported.
        "__init__.py",
        "build.py",
        # Records whose annotations the server reads at run time (the journal
        # codec's checks: ``typing.get_type_hints``): compiled, mypyc keeps
        # ``int | None`` or ``tuple[str, ...]`` as ``type`` and ``tuple``. Their
        # classes are Python classes either way, and compiled code reads a
        # NamedTuple's fields by position all the same.
        "commands.py",
        "events.py",
        "risk_limits.py",
    }
)


def _opt_level() -> str:
    level = os.environ.get("STX_MYPYC_OPT_LEVEL", "3")
    if level not in ("0", "1", "2", "3"):
        raise SystemExit(f"STX_MYPYC_OPT_LEVEL must be 0, 1, 2 or 3, not {level!r}")
    return level


def _warn(message: str) -> None:
    bar = "*" * 78
    print(f"\n{bar}\nWARNING: {message}\n{bar}\n", file=sys.stderr)


def _engine_sources() -> list[str]:
    return sorted(
        f"matching/{path.name}"
        for path in (ROOT / "matching").glob("*.py")
        if path.name not in NOT_COMPILED
    )


_BUILT: set[str] = set()
"""The sources whose extension modules this build makes (``_compiled_modules``)."""


def _stale_extensions() -> list[Path]:
    """Extension modules beside sources that this build does not make: taken
    out of the compiled set, or in a group mypyc could not translate this
    time. Left in place they would shadow their (edited) sources."""
    return [
        extension
        for package in ("matching", "server", "feeds")
        for extension in (ROOT / package).rglob("*.so")
        if extension.with_name(extension.name.split(".")[0] + ".py").relative_to(ROOT).as_posix()
        not in _BUILT
    ]


METADATA_COMMANDS = frozenset({"egg_info", "dist_info"})
"""What pip runs before a build (PEP 517's get_requires and prepare_metadata
hooks, each a run of this file): the package's metadata only, which the
extension modules are no part of."""
BUILD_COMMANDS = frozenset(
    {"build", "build_ext", "bdist", "bdist_wheel", "editable_wheel", "install", "develop", "sdist"}
)


def _metadata_only(argv: list[str]) -> bool:
    """Whether this run only writes metadata: mypyc's translation (a whole
    type check, seconds each time) is then skipped, as it was done three
    times for one ``pip install``."""
    commands = [word for word in argv[1:] if not word.startswith("-")]
    return bool(commands) and commands[0] in METADATA_COMMANDS and not BUILD_COMMANDS & set(argv)


def _compiled_modules() -> list[Any]:
    """mypyc's extension modules, or none (pure build) when mypyc is unusable."""
    if os.environ.get("STX_PURE_ENGINE") or _metadata_only(sys.argv):
        return []
    try:
        from mypyc.build import mypycify  # noqa: PLC0415 (absent at run time)
    except ImportError as error:
        _warn(f"mypyc is missing ({error!r}); installing the engine and server pure Python.")
        return []
    level = _opt_level()
    modules: list[Any] = []
    # Each group alone: the engine stays compiled if the server's modules cannot be.
    for group, sources, what in (
        (GROUP, _engine_sources(), "the engine"),
        (SERVER_GROUP, list(SERVER_SOURCES), "the server's hot modules"),
    ):
        try:
            modules += mypycify(sources, opt_level=level, group_name=group)
            _BUILT.update(sources)
        except (SystemExit, Exception) as error:
            _warn(f"mypyc could not translate {what} ({error!r}); installing it pure Python.")
    return modules


class BuildEngine(build_ext):
    """Compile every engine module or none: a partial build would leave
    extension modules that cannot import their shared library."""

    in_place = False
    """Whether this build also puts the modules beside the sources (``make``,
    editable installs); setuptools clears ``inplace`` while it compiles."""

    def run(self) -> None:
        self.in_place = bool(self.inplace)
        super().run()
        if self.in_place:
            # A module taken out of the compiled set must not stay shadowed.
            for stale in _stale_extensions():
                stale.unlink()
            # A translation that came out the same is not recompiled; the modules
            # beside the sources are now those of the sources as they are
            # (tests/matching/test_builds.py compares their times).
            self.inplace = True
            for extension in self.extensions:
                os.utime(self.get_ext_fullpath(extension.name))

    def build_extensions(self) -> None:
        try:
            super().build_extensions()
        except (BaseError, CCompilerError, OSError) as error:
            for extension in self.extensions:
                self._remove_outputs(extension.name)
            self.extensions = []
            _warn(
                f"the engine could not be compiled ({error}); it is installed pure Python, "
                "several times slower. Install a C compiler and the Python headers "
                "(python3-dev) and reinstall to compile it."
            )

    def copy_extensions_to_source(self) -> None:
        if self.extensions:
            super().copy_extensions_to_source()

    def _remove_outputs(self, name: str) -> None:
        """The module's file in the build tree and, for an in-place build,
        a stale one beside the sources, which would shadow them."""
        Path(self.get_ext_fullpath(name)).unlink(missing_ok=True)
        if self.in_place:
            self.inplace = True
            Path(self.get_ext_fullpath(name)).unlink(missing_ok=True)
            self.inplace = False


setup(ext_modules=_compiled_modules(), cmdclass={"build_ext": BuildEngine})

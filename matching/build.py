"""Which build of the engine this process runs: compiled or pure Python.

The same ``matching/*.py`` source is compiled with mypyc at install time
(setup.py; docs/decisions/0005-compiled-engine.md); the extension modules sit
beside the sources and Python's import system prefers them. With
``STX_PURE_ENGINE`` set (to anything but empty) when ``matching`` is first
imported, the engine's modules load from their ``.py`` files instead: how the
test suite checks both builds against each other, and how ``stx bench engine
--pure`` measures the pure one.

``matching/__init__.py`` imports this module before any other engine module,
and neither of the two is ever compiled.
"""

import os
import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import SOURCE_SUFFIXES, FileFinder, ModuleSpec, SourceFileLoader
from importlib.util import find_spec
from types import ModuleType
from typing import Final

PURE_ENV: Final = "STX_PURE_ENGINE"


COMPILED_PACKAGES: Final = ("matching", "server", "feeds")
"""The packages some of whose modules are compiled (setup.py): with
``STX_PURE_ENGINE`` every module of theirs loads from its ``.py`` file.
``server/__init__.py`` and ``feeds/__init__.py`` import this module first so
that the switch holds however a process starts."""


class SourceOnly(MetaPathFinder):
    """Finds the modules of ``names`` (packages or single modules) among
    ``.py`` files only, passing over the compiled extension modules beside
    them. One module alone is how ``server/bench/server_modules.py`` measures
    a module pure while everything else stays compiled."""

    def __init__(self, names: Sequence[str] = COMPILED_PACKAGES) -> None:
        self.names = tuple(names)
        self.prefixes = tuple(f"{name}." for name in names)

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if not path or not (fullname in self.names or fullname.startswith(self.prefixes)):
            return None
        return FileFinder(path[0], (SourceFileLoader, SOURCE_SUFFIXES)).find_spec(fullname)


def _select() -> str:
    if os.environ.get(PURE_ENV) and not any(isinstance(f, SourceOnly) for f in sys.meta_path):
        sys.meta_path.insert(0, SourceOnly())
    spec = find_spec("matching.engine")
    origin = spec.origin if spec is not None else None
    return "pure" if origin is None or origin.endswith(".py") else "compiled"


BUILD: Final = _select()
"""``"compiled"`` or ``"pure"``: where ``matching.engine`` is loaded from."""

"""The server's modules that are compiled with mypyc, and whether they run so.

``SOURCES`` is the one list: setup.py reads it (without importing the
package) to compile them as the group ``server__mypyc``, the Makefile to
rebuild them when one changes, the tests to check both builds. Each is there
because it measured a clear gain alone, pure against compiled
(``python -m server.bench.server_modules``; docs/performance.md, "Compiled
server modules"; decision 0008). ``STX_PURE_ENGINE=1`` loads them from their
``.py`` files like the engine's (``matching/build.py``).

``python -m server.compiled`` exits 1, naming them, when any runs pure.
"""

from __future__ import annotations

import sys
from importlib.util import find_spec
from typing import Final

SOURCES: Final = (
    "server/gateways/grpc/convert.py",
    "server/journal/codec.py",
    "server/model/registry.py",
)
"""Paths from the repository's root, one a line (setup.py and the Makefile read them)."""


def module_name(source: str) -> str:
    return source.removesuffix(".py").replace("/", ".")


def pure_modules() -> list[str]:
    """The compiled modules that this process would load from ``.py`` files
    (no extension module beside them, or ``STX_PURE_ENGINE`` set)."""
    pure = []
    for source in SOURCES:
        name = module_name(source)
        spec = find_spec(name)
        if spec is None or spec.origin is None or spec.origin.endswith(".py"):
            pure.append(name)
    return pure


def main() -> None:
    pure = pure_modules()
    if pure:
        print(f"these server modules run pure Python: {', '.join(pure)}", file=sys.stderr)
    sys.exit(1 if pure else 0)


if __name__ == "__main__":
    main()

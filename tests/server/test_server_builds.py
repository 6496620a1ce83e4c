"""The server's compiled modules and their pure build agree (issue 17, decision 0008).

The tests of each module of ``server/compiled.py`` run in-process against the
installed build (compiled by ``make venv``) with the rest of the suite; here
they run again in a child pytest with ``STX_PURE_ENGINE=1``, and a build that
should be compiled but is not, or is older than its source, fails instead of
passing as slower pure Python. tests/matching/test_builds.py does the same for
the engine.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from matching.build import PURE_ENV
from server.compiled import SOURCES, module_name, pure_modules

ROOT = Path(__file__).parents[2]
PURE_REQUESTED = bool(os.environ.get(PURE_ENV))

TESTS_OF = {
    "server/gateways/grpc/convert.py": ["tests/server/gateways/grpc/test_convert.py"],
    "server/journal/codec.py": ["tests/server/journal/test_codec.py"],
    "server/model/registry.py": [
        "tests/server/core/test_registry.py",
        "tests/server/core/test_registry_chains.py",
    ],
}
"""Each compiled module's own tests: the pure build's child run."""


def _can_compile() -> bool:
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    headers = Path(sysconfig.get_paths()["include"], "Python.h")
    return shutil.which(compiler) is not None and headers.exists()


def _run(code: str, *, pure: bool) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != PURE_ENV}
    if pure:
        env[PURE_ENV] = "1"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_every_compiled_module_has_its_tests_named_here() -> None:
    assert sorted(TESTS_OF) == sorted(SOURCES)
    for tests in TESTS_OF.values():
        assert all((ROOT / test).is_file() for test in tests)


def test_setup_and_make_read_the_same_list() -> None:
    """setup.py reads ``SOURCES`` as a literal, the Makefile one path a line."""
    text = (ROOT / "server" / "compiled.py").read_text()
    assert tuple(re.findall(r'^    "(.*\.py)",$', text, re.MULTILINE)) == SOURCES
    tree = ast.parse(text)
    (literal,) = (
        node.value
        for node in tree.body
        if isinstance(node, ast.AnnAssign) and ast.unparse(node.target) == "SOURCES"
    )
    assert literal is not None
    assert ast.literal_eval(literal) == SOURCES


def test_the_compiled_server_modules_are_in_use() -> None:
    if PURE_REQUESTED:
        pytest.skip(f"{PURE_ENV} asks for the pure build")
    if not _can_compile():
        pytest.skip("no C compiler or Python headers: the server is installed pure")
    assert pure_modules() == [], "run `make venv` to compile them"
    assert "server__mypyc" in sys.modules


def test_the_pure_switch_loads_every_server_module_from_source() -> None:
    names = [module_name(source) for source in SOURCES]
    code = (
        "import sys, json\n"
        f"for name in {names!r}: __import__(name)\n"
        "from server.compiled import pure_modules\n"
        "files = {n: sys.modules[n].__file__ for n in sys.modules"
        " if n.split('.')[0] in ('matching', 'server', 'feeds')}\n"
        "print(json.dumps([files, pure_modules(), 'server__mypyc' in sys.modules]))"
    )
    result = _run(code, pure=True)
    assert result.returncode == 0, result.stderr
    files, pure, shared_library = json.loads(result.stdout)
    assert pure == names
    assert not shared_library
    assert all(file.endswith(".py") for file in files.values() if file), files


_RECORD_HINTS = """
import dataclasses, inspect, json, typing
hints = {}
for name in NAMES:
    module = __import__(name, fromlist=["_"])
    for attribute, cls in vars(module).items():
        if inspect.isclass(cls) and cls.__module__ == name and (
            dataclasses.is_dataclass(cls) or hasattr(cls, "_fields")
        ):
            hints[name + "." + attribute] = repr(typing.get_type_hints(cls))
print(json.dumps(hints))
"""


def test_records_keep_their_annotations_in_both_builds() -> None:
    """NamedTuples defined in compiled modules (``Origin``, ``Report``) are
    Python classes either way; what their annotations say must not change."""
    if pure_modules():
        pytest.skip("only one build here: the pure one")
    code = _RECORD_HINTS.replace("NAMES", repr([module_name(source) for source in SOURCES]))
    pure, compiled = (json.loads(_run(code, pure=pure).stdout) for pure in (True, False))
    assert "server.journal.codec.Origin" in pure
    assert compiled == pure


@pytest.mark.timeout(300)
def test_the_compiled_modules_tests_pass_in_the_pure_build_too() -> None:
    if pure_modules():
        pytest.skip("this run is the pure build's already")
    tests = [test for source in SOURCES for test in TESTS_OF[source]]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        check=False,
        env={**os.environ, PURE_ENV: "1"},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


def test_the_compiled_modules_are_not_older_than_their_source() -> None:
    """An edited module would be shadowed by the compiled code of its previous
    version: ``make`` rebuilds it (or run with ``STX_PURE_ENGINE=1``). The code
    of every module is in mypyc's shared library, ``server__mypyc``."""
    if pure_modules():
        pytest.skip("the pure build runs the sources themselves")
    library = sys.modules["server__mypyc"].__file__
    assert library is not None
    built = Path(library).stat().st_mtime
    stale = sorted(source for source in SOURCES if (ROOT / source).stat().st_mtime > built)
    assert not stale, f"compiled before their last change: {stale}; run make"

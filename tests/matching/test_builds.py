"""The compiled and the pure build of the engine agree (issue 17).

The tests of tests/matching run in-process against whichever build is
installed (compiled by ``make venv``); here the whole engine suite runs again
in a child pytest with ``STX_PURE_ENGINE=1``, seeded flows are compared event
for event across the two builds, and a build that should be compiled but is
not fails instead of passing, several times slower, as pure Python.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import matching
import matching.engine
from matching.build import PURE_ENV
from tests.matching.differential import digest

ROOT = Path(__file__).parents[2]
PURE_REQUESTED = bool(os.environ.get(PURE_ENV))


def _can_compile() -> bool:
    """A C compiler and the Python headers: what setup.py needs."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    headers = Path(sysconfig.get_paths()["include"], "Python.h")
    return shutil.which(compiler) is not None and headers.exists()


def _pure_env() -> dict[str, str]:
    return {**os.environ, PURE_ENV: "1"}


def test_the_compiled_build_is_in_use() -> None:
    if PURE_REQUESTED:
        pytest.skip(f"{PURE_ENV} asks for the pure build")
    if not _can_compile():
        pytest.skip("no C compiler or Python headers: the engine is installed pure")
    assert matching.BUILD == "compiled", "the engine runs pure: run `make venv` to compile it"
    assert matching.engine.__file__ is not None
    assert not matching.engine.__file__.endswith(".py")


def test_the_pure_switch_loads_every_engine_module_from_source() -> None:
    code = (
        "import sys, matching, server.bench.workload\n"
        "names = [n for n in sys.modules if n.startswith('matching')]\n"
        "assert 'matching.engine' in names, names\n"
        "assert all(sys.modules[n].__file__.endswith('.py') for n in names), names\n"
        "assert not any(n.endswith('__mypyc') for n in sys.modules)\n"
        "print(matching.BUILD)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        env=_pure_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pure"


@pytest.mark.parametrize("controls", [False, True], ids=["ledger", "controls"])
def test_seeded_flows_give_the_same_events_in_both_builds(controls: bool) -> None:
    if matching.BUILD != "compiled":
        pytest.skip("only one build here: the pure one")
    count, seed = 60_000, 7
    arguments = [str(count), str(seed), str(int(controls))]
    pure = subprocess.run(
        [sys.executable, "-m", "tests.matching.differential", *arguments],
        env=_pure_env(),
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    theirs = json.loads(pure.stdout)
    ours = digest(count, seed, controls)
    assert (theirs["build"], ours["build"]) == ("pure", "compiled")
    assert int(ours["events"]) > count
    del theirs["build"], ours["build"]
    assert ours == theirs


_RECORD_HINTS = """
import dataclasses, inspect, json, pkgutil, typing
import matching
hints = {}
for info in pkgutil.iter_modules(matching.__path__):
    module = __import__("matching." + info.name, fromlist=["_"])
    for name, cls in vars(module).items():
        if inspect.isclass(cls) and cls.__module__ == module.__name__ and (
            dataclasses.is_dataclass(cls) or hasattr(cls, "_fields")
        ):
            hints[module.__name__ + "." + name] = repr(typing.get_type_hints(cls))
print(json.dumps(hints))
"""


def test_commands_and_events_keep_their_annotations_in_both_builds() -> None:
    """The journal codec checks decoded commands against their fields' type
    hints (``typing.get_type_hints``); mypyc turns ``int | None`` into
    ``type`` in the modules it compiles, so the records' modules stay pure."""
    if matching.BUILD != "compiled":
        pytest.skip("only one build here: the pure one")
    runs = [
        subprocess.run(
            [sys.executable, "-c", _RECORD_HINTS],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for env in (_pure_env(), {k: v for k, v in os.environ.items() if k != PURE_ENV})
    ]
    pure, compiled = (json.loads(run) for run in runs)
    assert "matching.commands.SetRiskLimits" in pure
    assert compiled == pure


@pytest.mark.timeout(900)
def test_the_engine_suite_passes_in_the_pure_build_too() -> None:
    if matching.BUILD != "compiled":
        pytest.skip("this run is the pure build's already")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/matching"],
        check=False,
        env=_pure_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


def test_the_compiled_engine_is_not_older_than_its_source() -> None:
    """An edited ``matching/*.py`` would be shadowed by the compiled code of
    its previous version: ``make`` rebuilds it (or run with ``STX_PURE_ENGINE=1``).
    The code of every module is in mypyc's shared library, ``matching__mypyc``."""
    if matching.BUILD != "compiled":
        pytest.skip("the pure build runs the sources themselves")
    library = sys.modules["matching__mypyc"].__file__
    assert library is not None
    built = Path(library).stat().st_mtime
    package = Path(matching.__file__).parent
    stale = sorted(
        source.name
        for source in package.glob("*.py")
        if source.stat().st_mtime > built and any(package.glob(f"{source.stem}.*.so"))
    )
    assert not stale, f"compiled before their last change: {stale}; run make"

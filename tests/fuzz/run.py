"""Run one fuzz target under atheris (libFuzzer), in a process of its own.

    python -m tests.fuzz.run TARGET [libFuzzer options] [corpus directories]

The target module is imported inside ``atheris.instrument_imports`` so that
the exchange's own packages are compiled with coverage feedback: imported any
earlier they would run uninstrumented and the fuzzer would be blind. libFuzzer
writes new interesting inputs into the first corpus directory only, so the
committed corpus is passed after a work directory. On a crash it writes the
input to ``-artifact_prefix`` and the process exits non-zero.
"""

from __future__ import annotations

import importlib
import logging
import sys

import atheris

TARGETS = ("journal_format", "journal_recovery", "codec", "rest_json", "feed_wire")
DEFAULTS = {"rest_json": ("-max_len=16384",)}
"""libFuzzer options a target starts with (any given on the command line win):
libFuzzer's own limit of 4096 bytes is shorter than a 4301-digit decimal,
the first length at which Python's int() refuses a string of digits."""
INSTRUMENTED = ("server", "feeds")
"""Top-level packages whose code gets coverage feedback (atheris includes by
package): the decoders under test and what they call."""


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1] not in TARGETS:
        sys.exit(f"usage: python -m tests.fuzz.run {{{','.join(TARGETS)}}} [libFuzzer options]")
    # Recovery warns on every tail it cuts; at thousands of inputs a second
    # that would drown libFuzzer's own report.
    logging.disable(logging.CRITICAL)
    # The server's compiled modules (server/compiled.py) have no bytecode to
    # instrument: the fuzzer runs their source, as the engine's pure build.
    from matching.build import SourceOnly  # noqa: PLC0415 (before any server import)

    sys.meta_path.insert(0, SourceOnly(INSTRUMENTED))
    # types-atheris describes Setup and Fuzz only.
    with atheris.instrument_imports(include=list(INSTRUMENTED)):  # type: ignore[attr-defined]
        target = importlib.import_module(f"tests.fuzz.fuzz_{argv[1]}")
    atheris.Setup([argv[0], *DEFAULTS.get(argv[1], ()), *argv[2:]], target.test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)

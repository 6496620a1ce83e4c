"""Write the committed seed corpora: ``python -m tests.fuzz.corpus [TARGET ...]``.

Each target's ``seeds()`` yields real encoded inputs (records framed by the
journal writer's own code, payloads from the codec, JSON the bridge prints,
messages the feed publishes), so fuzzing starts from inputs that reach deep
into the decoders instead of rediscovering the formats byte by byte. Files
are named after a hash of their content; ``seed-*`` files are rewritten,
anything else in the directory (an input a long run found and someone chose
to keep) is left alone.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import sys
from pathlib import Path

from tests.fuzz.run import TARGETS

CORPUS = Path(__file__).parent / "corpus"


def write(target: str) -> int:
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("seed-*"):
        stale.unlink()
    module = importlib.import_module(f"tests.fuzz.fuzz_{target}")
    for data in module.seeds():
        module.test_one_input(data)  # a seed that breaks its own target is a bug here
        (directory / f"seed-{hashlib.sha256(data).hexdigest()[:16]}").write_bytes(data)
    return sum(1 for _ in directory.glob("seed-*"))


def main(argv: list[str]) -> None:
    logging.disable(logging.CRITICAL)  # the damaged seeds make recovery warn
    for target in argv[1:] or TARGETS:
        if target not in TARGETS:
            sys.exit(f"unknown target {target!r}; targets: {', '.join(TARGETS)}")
        print(f"{target}: {write(target)} seeds in {CORPUS / target}")


if __name__ == "__main__":
    main(sys.argv)

"""Throwaway SoftHSM2 tokens: a real PKCS#11 peer for the key tests.

SoftHSM2 reads SOFTHSM2_CONF once, when the library is first initialised in
a process, so one token directory serves the whole test session; each test
gets a new token in it (and the library is initialised again to see it).
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.hsm.token import TokenSettings

SOFTHSM_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
SOFTHSM_HINT = "install Debian's softhsm2 (apt-get install softhsm2; .ci/run does)"
_labels = itertools.count(1)


@pytest.fixture(scope="session")
def softhsm_conf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if not SOFTHSM_MODULE.exists() or shutil.which("softhsm2-util") is None:
        pytest.skip(SOFTHSM_HINT)
    pytest.importorskip("pkcs11", reason="python-pkcs11 is missing: make venv installs it")
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    previous = os.environ.get("SOFTHSM2_CONF")
    # The library's own configuration channel: read by SoftHSM2 at C_Initialize.
    os.environ["SOFTHSM2_CONF"] = str(conf)
    try:
        yield conf
    finally:
        if previous is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous


@pytest.fixture
def softhsm_token(softhsm_conf: Path) -> TokenSettings:
    """A new, empty token with a random user PIN."""
    import pkcs11  # noqa: PLC0415 - skipped above when missing

    label = f"stx-test-{os.getpid()}-{next(_labels)}"
    pin = secrets.token_hex(8)
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", label,
         "--pin", pin, "--so-pin", secrets.token_hex(8)],
        check=True, capture_output=True, env={**os.environ, "SOFTHSM2_CONF": str(softhsm_conf)},
    )  # fmt: skip
    pkcs11.lib(str(SOFTHSM_MODULE)).reinitialize()
    return TokenSettings(str(SOFTHSM_MODULE), label, pin)

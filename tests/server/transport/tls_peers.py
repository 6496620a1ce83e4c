"""Real TLS peers for the transport tests: ``openssl s_client``."""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import pytest

NEGOTIATED = re.compile(r"^New, (?P<protocol>\S+), Cipher is (?P<cipher>\S+)$", re.MULTILINE)
TLS13_SUITES = ("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256")


def s_client(port: int, *arguments: str, hold: float = 0.0) -> str:
    """What ``openssl s_client`` says of a handshake with 127.0.0.1:``port``;
    with ``hold``, it stays connected that many seconds first (time for a
    server to hang up on it)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command: apt-get install openssl")
    process = subprocess.Popen(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *arguments],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    time.sleep(hold)
    output, _ = process.communicate(b"", timeout=30)
    return output.decode(errors="replace")


def negotiated(output: str) -> tuple[str, str]:
    """(protocol, cipher) of the handshake; ("(NONE)", "(NONE)") when it failed."""
    found = NEGOTIATED.search(output)
    assert found is not None, output
    return found["protocol"], found["cipher"]

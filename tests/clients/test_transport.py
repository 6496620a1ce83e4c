"""Which CA a client command uses, and when it speaks plaintext."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from clients.transport import LOCAL_CA, ClientTls, ClientTlsError, unreachable


@pytest.fixture
def in_directory(tmp_path: Path) -> Iterator[Path]:
    """The current directory is ``tmp_path`` (where ./data/tls/ca.pem is looked for)."""
    before = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(before)


def test_the_local_ca_is_used_when_make_run_left_one(in_directory: Path) -> None:
    assert ClientTls.resolve(environ={}) == ClientTls()  # none yet: plaintext
    LOCAL_CA.parent.mkdir(parents=True)
    LOCAL_CA.write_text("a CA")
    assert ClientTls.resolve(environ={}).ca_file == LOCAL_CA
    assert ClientTls.resolve(environ={"STX_PLAINTEXT": "1"}) == ClientTls()
    assert ClientTls.resolve(plaintext=True, environ={}) == ClientTls()


def test_the_command_line_wins_over_the_environment(in_directory: Path) -> None:
    environ = {"STX_CA_FILE": "env.pem", "STX_CLIENT_CERT": "c.pem", "STX_CLIENT_KEY": "k.pem"}
    assert ClientTls.resolve(environ=environ) == ClientTls(
        Path("env.pem"), Path("c.pem"), Path("k.pem")
    )
    assert ClientTls.resolve(Path("flag.pem"), environ=environ).ca_file == Path("flag.pem")


def test_unreadable_files_are_a_clear_error(in_directory: Path) -> None:
    with pytest.raises(ClientTlsError, match=r"cannot read missing\.pem"):
        ClientTls(Path("missing.pem")).credentials()
    Path("ca.pem").write_text("a CA")
    with pytest.raises(ClientTlsError, match="go together"):
        ClientTls(Path("ca.pem"), cert_file=Path("c.pem")).credentials()


def test_an_unreachable_server_message_names_the_transport_tried() -> None:
    plain = unreachable("h:1", ClientTls())
    assert "in plaintext; --ca FILE if it uses TLS" in plain
    assert "is `stx serve` running?" in plain
    secure = unreachable("h:1", ClientTls(Path("data/tls/ca.pem")))
    assert "over TLS trusting data/tls/ca.pem; --plaintext if its TLS is off" in secure

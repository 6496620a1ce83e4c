"""A running exchange renews its certificate before it expires, no restart."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

from cryptography import x509

from server.transport.pki import LEAF_LIFETIME, RENEW_BEFORE
from server.transport.settings import TlsSettings
from tests.server.local import local_settings
from tests.server.transport.running import RunningExchange


def _served_serial(port: int) -> int:
    """The serial number of the certificate 127.0.0.1:``port`` presents now."""
    pem = ssl.get_server_certificate(("127.0.0.1", port), timeout=10)
    return x509.load_pem_x509_certificate(pem.encode()).serial_number


def _file_serial(path: Path) -> int:
    return x509.load_pem_x509_certificate(path.read_bytes()).serial_number


def test_a_certificate_due_for_renewal_is_replaced_on_both_ports_while_serving(
    tmp_path: Path,
) -> None:
    running = RunningExchange(local_settings(tmp_path, tls=TlsSettings()))
    with running as exchange:
        server_pem = tmp_path / "tls" / "server.pem"
        first = _file_serial(server_pem)
        assert _served_serial(exchange.port) == _served_serial(exchange.rest_port) == first

        async def renew(now: datetime.datetime) -> bool:
            assert exchange.tls is not None
            return exchange.tls.renew(now)

        now = datetime.datetime.now(datetime.UTC)
        assert not running.call(renew(now))  # not due: nothing changes
        due = now + LEAF_LIFETIME - RENEW_BEFORE + datetime.timedelta(days=1)
        assert running.call(renew(due))
        second = _file_serial(server_pem)
        assert second != first
        assert _served_serial(exchange.port) == second
        assert _served_serial(exchange.rest_port) == second

"""Where the exchange listens, and what a busy port does to a second one."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.app import Exchange
from server.config import ConfigError, Settings, load
from server.transport.settings import TlsSettings
from tests.e2e.serve import STX, free_port, start_server

PORT_SETTINGS = ("grpc_port", "rest_port", "feed_port", "snapshot_port")
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _listening(port: int) -> set[Address]:
    """The local addresses of every TCP socket listening on ``port`` (from /proc)."""
    found: set[Address] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word in host (little-endian) order.
            packed = b"".join(raw[index : index + 4][::-1] for index in range(0, len(raw), 4))
            found.add(ipaddress.ip_address(packed))
    return found


def _is_loopback(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _settings(data_dir: Path, **overrides: Any) -> Settings:
    """Defaults (TLS off: not what is tested here) on four fixed free ports."""
    settings = load(environ={"STX_TLS_ENABLED": "false"})
    ports: dict[str, Any] = {name: free_port() for name in PORT_SETTINGS}
    return replace(settings, data_dir=data_dir, **{**ports, **overrides})


def _bound_addresses(settings: Settings) -> dict[str, set[Address]]:
    async def scenario() -> dict[str, set[Address]]:
        exchange = Exchange(settings)
        await exchange.start()
        try:
            return {name: _listening(getattr(settings, name)) for name in PORT_SETTINGS}
        finally:
            await exchange.stop()

    return asyncio.run(scenario())


def test_every_listener_binds_loopback_only_by_default(tmp_path: Path) -> None:
    bound = _bound_addresses(_settings(tmp_path))
    for name, addresses in bound.items():
        assert addresses, f"nothing listens on {name}"
        assert all(_is_loopback(address) for address in addresses), (name, addresses)


def test_listen_address_opens_every_listener_to_other_interfaces(tmp_path: Path) -> None:
    bound = _bound_addresses(_settings(tmp_path, listen_address="0.0.0.0"))
    for name, addresses in bound.items():
        # grpc listens on "::" (dual stack) when asked for 0.0.0.0: every interface too.
        assert addresses, f"nothing listens on {name}"
        assert all(address.is_unspecified for address in addresses), (name, addresses)


def test_listen_address_comes_from_the_file_or_the_environment(tmp_path: Path) -> None:
    assert load(environ={}).listen_address == "127.0.0.1"
    assert load(environ={"STX_LISTEN_ADDRESS": "::"}).listen_address == "::"
    config = tmp_path / "stx.toml"
    config.write_text('[server]\nlisten_address = "0.0.0.0"\n')
    assert load(config, environ={}).listen_address == "0.0.0.0"
    with pytest.raises(ConfigError, match="listen_address: 'localhost' is not an IP address"):
        load(environ={"STX_LISTEN_ADDRESS": "localhost"})


@pytest.fixture(scope="module")
def first_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    """A running `stx serve`, whose four ports a second one then asks for."""
    ports = {name: free_port() for name in ("grpc_port", "rest_port", "feed_port")}
    ports["snapshot_port"] = ports["feed_port"] + 1
    data = tmp_path_factory.mktemp("first") / "data"
    server = start_server(
        data, ports["grpc_port"], feed_port=ports["feed_port"], tls=False,
        rest_port=ports["rest_port"],
    )  # fmt: skip
    try:
        yield ports
    finally:
        server.terminate()
        server.wait(30)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("setting", PORT_SETTINGS)
def test_a_busy_port_is_one_clear_line_and_exit_code_2(
    first_server: dict[str, int], setting: str, tmp_path: Path
) -> None:
    ports = {name: str(free_port()) for name in PORT_SETTINGS}
    ports[setting] = str(first_server[setting])
    environ = {
        **os.environ,
        "STX_TLS_ENABLED": "false",
        **{f"STX_{name.upper()}": port for name, port in ports.items()},
    }
    second = subprocess.run(
        [str(STX), "serve", "--data-dir", str(tmp_path / "second")],
        capture_output=True, text=True, timeout=60, check=False, env=environ,
    )  # fmt: skip
    output = second.stdout + second.stderr
    assert second.returncode == 2, output
    assert "Traceback" not in output
    critical = [line for line in output.splitlines() if "CRITICAL" in line]
    assert len(critical) == 1, output
    assert f"127.0.0.1:{first_server[setting]} for {setting}" in critical[0]
    assert "already in use" in critical[0]
    assert f"STX_{setting.upper()}" in critical[0]


@pytest.mark.timeout(120)
def test_stx_rest_on_a_busy_port_is_one_clear_line_and_exit_code_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        bridge = subprocess.run(
            [str(STX), "rest", "--port", str(port), "--data-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert bridge.returncode == 2, bridge.stderr
    assert "Traceback" not in bridge.stderr
    assert bridge.stderr.strip().splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{port}: the port is already in use; "
        "choose another port with --port"
    ]


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="needs an IPv6 loopback (::1) on this host")
def test_an_ipv6_listen_address_serves_every_port_over_tls(tmp_path: Path) -> None:
    settings = replace(_settings(tmp_path, listen_address="::1"), tls=TlsSettings())

    async def scenario() -> tuple[dict[str, set[Address]], int]:
        exchange = Exchange(settings)
        await exchange.start()
        try:
            bound = {name: _listening(getattr(settings, name)) for name in PORT_SETTINGS}
            # The bridge reaches gRPC at [::1] over mutual TLS: the local
            # certificate names ::1 too.
            context = ssl.create_default_context(cafile=tmp_path / "tls" / "ca.pem")
            url = f"https://[::1]:{settings.rest_port}/market-data/AAPL"
            async with aiohttp.ClientSession() as http, http.get(url, ssl=context) as answer:
                return bound, answer.status
        finally:
            await exchange.stop()

    bound, status = asyncio.run(scenario())
    assert status == 200
    for name, addresses in bound.items():
        assert addresses == {ipaddress.ip_address("::1")}, (name, addresses)

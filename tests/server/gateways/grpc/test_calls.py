"""Where a call comes from: the peer, or the HTTP client the REST bridge
names when the bridge runs on this machine."""

from __future__ import annotations

from typing import Any, cast

import pytest

from server.gateways.grpc.calls import Context, origin_of
from server.journal.codec import FORWARDED_FOR, Origin


class FakeContext:
    """The two things ``origin_of`` asks a gRPC call context."""

    def __init__(self, peer: str, metadata: tuple[tuple[str, Any], ...] = ()) -> None:
        self._peer = peer
        self._metadata = metadata

    def peer(self) -> str:
        return self._peer

    def invocation_metadata(self) -> tuple[tuple[str, Any], ...]:
        return self._metadata


def _origin(peer: str, *metadata: tuple[str, Any]) -> Origin:
    return origin_of(cast(Context, FakeContext(peer, metadata)))


@pytest.mark.parametrize(
    ("peer", "source"),
    [
        ("ipv4:10.1.2.3:5555", "10.1.2.3"),
        ("ipv6:[2001:db8::1]:443", "[2001:db8::1]"),
        ("ipv4:127.0.0.1:40000", "127.0.0.1"),
        ("unix:/run/stx.sock", "unix"),
    ],
)
def test_without_forwarding_the_source_is_the_peer(peer: str, source: str) -> None:
    assert _origin(peer) == Origin("", source, "grpc")


@pytest.mark.parametrize(
    "peer", ["ipv4:127.0.0.1:40000", "ipv4:127.0.0.2:1", "ipv6:[::1]:40000", "unix:/run/s"]
)
def test_a_bridge_on_this_machine_names_its_http_client(peer: str) -> None:
    assert _origin(peer, (FORWARDED_FOR, "203.0.113.9")) == Origin("", "203.0.113.9", "rest")
    assert _origin(peer, ("x-request-id", "r"), (FORWARDED_FOR, " ::1 ")) == Origin(
        "", "::1", "rest"
    )


def test_a_remote_peer_cannot_claim_another_address() -> None:
    origin = _origin("ipv4:198.51.100.7:5000", (FORWARDED_FOR, "203.0.113.9"))
    assert origin == Origin("", "198.51.100.7", "grpc")


@pytest.mark.parametrize("value", ["", "not an address", "1.2.3.4, 5.6.7.8", b"1.2.3.4"])
def test_a_malformed_forwarded_address_is_ignored(value: object) -> None:
    assert _origin("ipv4:127.0.0.1:1", (FORWARDED_FOR, value)) == Origin("", "127.0.0.1", "grpc")

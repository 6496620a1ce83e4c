"""Where the listeners bind, and the one-line error when they cannot."""

from __future__ import annotations

import errno
import ipaddress
import socket

import grpc

SETTING_FLAGS = {"grpc_port": "--grpc-port, ", "rest_port": "--rest-port, "}


class ListenError(Exception):
    """A listener could not bind: the port is taken or the address is not local."""

    def __init__(self, setting: str, address: str, port: int, reason: str) -> None:
        super().__init__(setting, address, port, reason)
        self.setting = setting
        self.address = address
        self.port = port
        self.reason = reason

    def __str__(self) -> str:
        flag = SETTING_FLAGS.get(self.setting, "")
        return (
            f"cannot listen on {host_port(self.address, self.port)} for {self.setting}: "
            f"{self.reason}; stop the program using it or choose another port "
            f"({flag}STX_{self.setting.upper()} or [server] {self.setting})"
        )


def reason_of(error: OSError) -> str:
    """The cause in words; EADDRINUSE whichever library raised it."""
    if error.errno == errno.EADDRINUSE or "in use" in str(error).lower():
        return "the port is already in use"
    if error.errno == errno.EADDRNOTAVAIL:
        return "the address is not one of this machine's"
    return error.strerror or str(error)


def host_port(address: str, port: int) -> str:
    """``address:port`` with an IPv6 address in brackets."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def zmq_endpoint(address: str, port: int) -> str:
    """A ZeroMQ TCP endpoint; port 0 asks for a free port (tests)."""
    host = f"[{address}]" if ":" in address else address
    return f"tcp://{host}:{port or '*'}"


def loopback_of(address: str, port: int) -> str:
    """Where this process's own clients reach a listener on ``address``: the
    address itself, or loopback when it is every interface."""
    parsed = ipaddress.ip_address(address)
    if parsed.is_unspecified:
        parsed = ipaddress.ip_address("::1" if parsed.version == 6 else "127.0.0.1")
    return host_port(str(parsed), port)


def bind_grpc(
    server: grpc.aio.Server, address: str, port: int, credentials: grpc.ServerCredentials | None
) -> int:
    """``server`` on ``address:port``; the port bound, or ListenError."""
    where = host_port(address, port)
    try:
        if credentials is None:
            return server.add_insecure_port(where)
        return server.add_secure_port(where, credentials)
    except RuntimeError:
        # grpc says only "Failed to bind"; the same bind by hand says why.
        raise ListenError("grpc_port", address, port, _bind_failure(address, port)) from None


def _bind_failure(address: str, port: int) -> str:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, port))
        except OSError as error:
            return reason_of(error)
    return "gRPC could not bind it"

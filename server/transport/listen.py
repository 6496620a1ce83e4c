"""Where the listeners bind, and the one-line error when they cannot."""

from __future__ import annotations

import errno

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

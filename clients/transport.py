"""How clients reach the exchange's gRPC port: TLS with a CA file, or plaintext.

The ``stx`` commands find the CA in ``--ca``, then ``STX_CA_FILE``, then the
local CA ``stx serve`` creates (``./data/tls/ca.pem``, where ``make run``
puts it); with none of these, or with ``--plaintext`` / ``STX_PLAINTEXT=1``,
they speak plaintext (a server with TLS off: tests, benchmarks, a proxy that
terminates TLS). A client certificate and key (``--cert``/``--key``,
``STX_CLIENT_CERT``/``STX_CLIENT_KEY``) are sent when the server requires them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import grpc

LOCAL_CA = Path("data") / "tls" / "ca.pem"
"""Where ``stx serve`` (``make run``) keeps its local CA, from the repository root."""

Options = Sequence[tuple[str, Any]]


class ClientTlsError(ValueError):
    """A CA, certificate or key file given to a client cannot be read."""


@dataclass(frozen=True)
class ClientTls:
    """TLS for a client channel; ``ca_file`` None means plaintext."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    def credentials(self) -> grpc.ChannelCredentials | None:
        if self.ca_file is None:
            return None
        if (self.cert_file is None) != (self.key_file is None):
            raise ClientTlsError("a client certificate and its key go together")
        return grpc.ssl_channel_credentials(
            _read(self.ca_file),
            _read(self.key_file) if self.key_file is not None else None,
            _read(self.cert_file) if self.cert_file is not None else None,
        )

    @classmethod
    def resolve(
        cls,
        ca: Path | None = None,
        cert: Path | None = None,
        key: Path | None = None,
        plaintext: bool = False,
        environ: Mapping[str, str] = os.environ,
    ) -> ClientTls:
        """The command line's choice, then the environment's, then the local CA."""
        if plaintext or environ.get("STX_PLAINTEXT", "").lower() in ("1", "true", "yes", "on"):
            return cls()
        ca = ca or _path(environ.get("STX_CA_FILE"))
        if ca is None and LOCAL_CA.is_file():
            ca = LOCAL_CA
        cert = cert or _path(environ.get("STX_CLIENT_CERT"))
        key = key or _path(environ.get("STX_CLIENT_KEY"))
        return cls(ca, cert, key)


def unreachable(target: str, tls: ClientTls) -> str:
    """The message for a server that cannot be reached, naming the transport
    tried: a TLS/plaintext mismatch looks the same as a server that is down."""
    if tls.ca_file is None:
        how = "in plaintext; --ca FILE if it uses TLS"
    else:
        how = f"over TLS trusting {tls.ca_file}; --plaintext if its TLS is off"
    return f"cannot reach the exchange at {target} ({how}): is `stx serve` running?"


def _path(text: str | None) -> Path | None:
    return Path(text) if text else None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise ClientTlsError(f"cannot read {path}: {error.strerror}") from None


def channel(target: str, tls: ClientTls | None = None, options: Options = ()) -> grpc.Channel:
    credentials = (tls or ClientTls()).credentials()
    if credentials is None:
        return grpc.insecure_channel(target, options=options)
    return grpc.secure_channel(target, credentials, options=options)


def aio_channel(
    target: str, tls: ClientTls | None = None, options: Options = ()
) -> grpc.aio.Channel:
    credentials = (tls or ClientTls()).credentials()
    if credentials is None:
        return grpc.aio.insecure_channel(target, options=options)
    return grpc.aio.secure_channel(target, credentials, options=options)


def tls_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--ca``, ``--cert``, ``--key`` and ``--plaintext`` on a click command,
    which receives them as one ``tls`` argument (a ``ClientTls``)."""

    @functools.wraps(command)
    def with_tls(
        *args: Any, ca: Path | None, cert: Path | None, key: Path | None, plaintext: bool,
        **kwargs: Any,
    ) -> Any:  # fmt: skip
        tls = ClientTls.resolve(ca, cert, key, plaintext)
        try:
            tls.credentials()
        except ClientTlsError as error:
            raise click.UsageError(str(error)) from None
        return command(*args, tls=tls, **kwargs)

    path = click.Path(dir_okay=False, path_type=Path)
    decorated: Callable[..., Any] = with_tls
    for option in reversed((
        click.option("--ca", type=path, help="CA file of the server's certificate "
                     "(STX_CA_FILE; default ./data/tls/ca.pem if present)."),
        click.option("--cert", type=path, help="Client certificate, if the server "
                     "requires one (STX_CLIENT_CERT)."),
        click.option("--key", type=path, help="Its private key (STX_CLIENT_KEY)."),
        click.option("--plaintext", is_flag=True, help="No TLS (STX_PLAINTEXT=1)."),
    )):  # fmt: skip
        decorated = option(decorated)
    return decorated

"""What every ``stx`` client command shares: its target and account options,
and a signed-in client whose refusals end the command with one line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import click
import grpc

from clients import session
from clients.sdk import DEFAULT_TARGET, ExchangeClient, ExchangeError
from clients.transport import ClientTls, unreachable

target_option = click.option(
    "--target",
    default=lambda: os.environ.get("STX_TARGET", DEFAULT_TARGET),
    show_default="STX_TARGET or 127.0.0.1:50051",
    help="The exchange's gRPC address.",
)
account_option = click.option(
    "--account",
    default=lambda: os.environ.get("STX_ACCOUNT", "DEMO"),
    show_default="STX_ACCOUNT or DEMO",
    help="Trading account.",
)


@contextmanager
def client(target: str, tls: ClientTls) -> Iterator[ExchangeClient]:
    try:
        token = session.access_token(target, tls)
    except grpc.RpcError:
        token = None
    exchange = ExchangeClient(target, token=token, tls=tls)
    try:
        yield exchange
    except ExchangeError as error:
        raise failure(error, target, tls, token) from None
    finally:
        exchange.close()


def failure(
    error: ExchangeError, target: str, tls: ClientTls, token: str | None
) -> click.ClickException:
    """What a command says when the exchange could not be reached or refused."""
    if error.code is grpc.StatusCode.UNAVAILABLE:
        return click.ClickException(unreachable(target, tls))
    if error.code is grpc.StatusCode.UNAUTHENTICATED:
        return click.ClickException(session.sign_in_refused(token, str(error)))
    reason = f" [{error.reason}]" if error.reason else ""
    return click.ClickException(f"refused{reason}: {error}")

"""``stx login`` and ``stx logout``: the session other ``stx`` commands use."""

from __future__ import annotations

import os

import click
import grpc
from stocktraderx.v1 import users_pb2, users_pb2_grpc

from clients import session
from clients.sdk import DEFAULT_TARGET
from clients.transport import ClientTls, channel, tls_options, unreachable

target_option = click.option(
    "--target",
    default=lambda: os.environ.get("STX_TARGET", DEFAULT_TARGET),
    show_default="STX_TARGET or 127.0.0.1:50051",
    help="The exchange's gRPC address.",
)


@click.command()
@click.option("--username", prompt=True)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    envvar="STX_PASSWORD",
    help="Prompted for unless STX_PASSWORD is set.",
)
@target_option
@tls_options
def login(username: str, password: str, target: str, tls: ClientTls) -> None:
    """Sign in; later stx commands act as this user."""
    with channel(target, tls) as signing_in:
        users = users_pb2_grpc.UserServiceStub(signing_in)
        try:
            answer = users.Login(
                users_pb2.LoginRequest(username=username, password=password), timeout=10
            )
        except grpc.RpcError as error:
            code = error.code() if isinstance(error, grpc.Call) else None
            if code is grpc.StatusCode.UNAVAILABLE:
                raise click.ClickException(unreachable(target, tls)) from None
            details = error.details() if isinstance(error, grpc.Call) else str(error)
            raise click.ClickException(f"sign-in refused: {details}") from None
    path = session.save(target, answer.access_token, answer.expires_in, answer.refresh_token)
    click.echo(f"signed in as {username}; session kept in {path}")


@click.command()
@target_option
@tls_options
def logout(target: str, tls: ClientTls) -> None:
    """End the session with this exchange."""
    try:
        token = session.access_token(target, tls)
    except grpc.RpcError:
        token = None
    refresh = session.forget(target)
    if refresh is None:
        click.echo("not signed in")
        return
    with channel(target, tls) as signing_out:
        try:
            users_pb2_grpc.UserServiceStub(signing_out).Logout(
                users_pb2.LogoutRequest(refresh_token=refresh),
                timeout=10,
                metadata=session.bearer(token),
            )
        except grpc.RpcError:
            click.echo("signed out here; the exchange could not be told", err=True)
            return
    click.echo("signed out")

"""The signed-in session of the ``stx`` commands, kept in a private file.

``stx login`` stores the access and refresh tokens in
``$STX_TOKEN_FILE`` or ``~/.config/stocktraderx/session.json`` (mode 0600),
one entry per exchange address. Later commands send the access token and,
once it is about to expire, trade the refresh token for a new pair
(rotation) and store that. ``STX_TOKEN`` overrides the file with a token
obtained elsewhere (an API key exchanged by a program, say).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import grpc
from stocktraderx.v1 import users_pb2, users_pb2_grpc

from clients.transport import ClientTls, channel

REFRESH_MARGIN_SECONDS = 30


def session_file() -> Path:
    configured = os.environ.get("STX_TOKEN_FILE")
    if configured:
        return Path(configured)
    return Path.home() / ".config" / "stocktraderx" / "session.json"


def _read() -> dict[str, Any]:
    path = session_file()
    if not path.exists():
        return {}
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def save(target: str, access_token: str, expires_in: int, refresh_token: str) -> Path:
    sessions = _read()
    sessions[target] = {
        "access_token": access_token,
        "expires_at": time.time() + expires_in,
        "refresh_token": refresh_token,
    }
    path = session_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(sessions, file)
    temporary.replace(path)
    return path


def forget(target: str) -> str | None:
    """Drop the session of ``target``; its refresh token, for logging out."""
    sessions = _read()
    entry = sessions.pop(target, None)
    if entry is None:
        return None
    save_all(sessions)
    return str(entry["refresh_token"])


def save_all(sessions: dict[str, Any]) -> None:
    path = session_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(sessions, file)


def access_token(target: str, tls: ClientTls | None = None) -> str | None:
    """A valid access token for ``target``, refreshed if needed; None if signed out."""
    override = os.environ.get("STX_TOKEN")
    if override:
        return override
    entry = _read().get(target)
    if entry is None:
        return None
    if entry["expires_at"] - REFRESH_MARGIN_SECONDS > time.time():
        return str(entry["access_token"])
    with channel(target, tls) as refreshing:
        users = users_pb2_grpc.UserServiceStub(refreshing)
        try:
            renewed = users.RefreshToken(
                users_pb2.RefreshTokenRequest(refresh_token=entry["refresh_token"]), timeout=10
            )
        except grpc.RpcError:
            return None  # the session ended: sign in again
    save(target, renewed.access_token, renewed.expires_in, renewed.refresh_token)
    return renewed.access_token


SIGNED_OUT = "not signed in: run `stx login`"


def sign_in_refused(token: str | None, details: str) -> str:
    """What a command says when the exchange wants a sign-in (UNAUTHENTICATED):
    in the terms of the ``stx`` commands, not the call metadata the exchange
    names for programs ("send 'authorization: Bearer <token>'")."""
    if token is None:
        return SIGNED_OUT
    return f"the session ended ({details}): run `stx login` again"


def bearer(token: str | None) -> tuple[tuple[str, str], ...]:
    """Call metadata carrying ``token`` (nothing without one)."""
    return (("authorization", f"Bearer {token}"),) if token else ()

"""CurveZMQ keys of the market data feed.

The publisher has a long-term key pair: the secret key stays in a 0600 file
next to the exchange's TLS material, the public key in a file of its own that
subscribers are given (40 characters of Z85, as libzmq's ZMQ_CURVE_SERVERKEY
takes it). Each subscriber makes a throwaway key pair per connection: the feed
is public market data, so CURVE here encrypts it and proves the publisher to
the subscriber; it does not tell subscribers apart (no ZAP handler).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq
import zmq.utils.z85

LOCAL_SERVER_KEY = Path("data") / "tls" / "feed-server.pub"
"""Where ``stx serve`` (``make run``) keeps the public key, from the repository root."""
PUBLIC_FILE = "feed-server.pub"
SECRET_FILE = "feed-server.secret"
Z85_KEY_LENGTH = 40


class CurveKeyError(ValueError):
    """A key file is missing or does not hold a Z85 key."""


@dataclass(frozen=True)
class CurveKeys:
    public: bytes
    secret: bytes


def ensure_server_keys(directory: Path) -> CurveKeys:
    """The publisher's key pair in ``directory``, generated on first use."""
    public_path, secret_path = directory / PUBLIC_FILE, directory / SECRET_FILE
    if public_path.exists() and secret_path.exists():
        return CurveKeys(read_key(public_path), read_key(secret_path))
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    public, secret = zmq.curve_keypair()
    _write(secret_path, secret, 0o600)
    _write(public_path, public, 0o600)  # not secret; 0600 like all of the data directory
    return CurveKeys(public, secret)


def subscriber_key(path: Path | None, plaintext: bool = False) -> bytes | None:
    """The server key a subscriber uses: ``path``, else the local one if there
    is one; None (plaintext) with ``plaintext`` or no key at all."""
    if plaintext:
        return None
    if path is None:
        if not LOCAL_SERVER_KEY.is_file():
            return None
        path = LOCAL_SERVER_KEY
    return read_key(path)


def read_key(path: Path) -> bytes:
    """The Z85 key in ``path`` (surrounding whitespace ignored)."""
    try:
        key = path.read_bytes().strip()
    except OSError as error:
        raise CurveKeyError(f"cannot read the feed key {path}: {error.strerror}") from None
    if len(key) != Z85_KEY_LENGTH:
        raise CurveKeyError(f"{path} does not hold a 40-character Z85 CurveZMQ key")
    try:
        zmq.utils.z85.decode(key)
    except (ValueError, KeyError):
        raise CurveKeyError(f"{path} does not hold a Z85 CurveZMQ key") from None
    return key


def serve_securely(socket: zmq.Socket[Any], keys: CurveKeys) -> None:
    """Make ``socket`` (before it binds) a CURVE server with ``keys``."""
    socket.curve_server = True
    socket.curve_secretkey = keys.secret
    socket.curve_publickey = keys.public


def connect_securely(socket: zmq.Socket[Any], server_public: bytes) -> None:
    """Make ``socket`` (before it connects) a CURVE client of ``server_public``."""
    public, secret = zmq.curve_keypair()
    socket.curve_serverkey = server_public
    socket.curve_publickey = public
    socket.curve_secretkey = secret


def _write(path: Path, key: bytes, mode: int) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as file:
        file.write(key + b"\n")
    os.chmod(temporary, mode)  # whatever the umask
    temporary.replace(path)

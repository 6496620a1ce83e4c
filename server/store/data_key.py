"""Where the data keys (the keys personal data in the store is sealed under) come from.

The ring is a list of 32-byte keys, the current one first: the current key
seals new values, every key opens old ones (``field_crypto``). In order:

- ``STX_DATA_KEY``: the keys in base64, separated by commas (a secret
  store or orchestrator injects it; nothing is written to disk);
- ``STX_DATA_KEY_FILE``: a file with one base64 key per line;
- else ``<data dir>/keys/data.key``, the same format, created with one
  random key on first start (the file 0600, its folder 0700).

In the files, blank lines and lines starting with ``#`` are ignored.

With a PKCS#11 token configured (``[keys] pkcs11_module``), the file is
``<data dir>/keys/data.key.wrapped`` instead and holds each key only wrapped
(AES-256-GCM) by an AES key that never leaves the token (``server/hsm``):
a copy of the data directory, or of a backup, opens nothing without the
token and its PIN. ``STX_DATA_KEY`` and ``STX_DATA_KEY_FILE`` still hold
plain keys (they come from a secret store).
Rotation (``stx admin rotate-data-key``) puts a new key first in the file
and re-seals every row under it; the older keys stay, because backups of
the database taken before the rotation still need them.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from server.config import ConfigError
from server.store.field_crypto import KEY_BYTES, FieldCipher

ENV_KEY = "STX_DATA_KEY"
ENV_FILE = "STX_DATA_KEY_FILE"


class DataKeyError(ConfigError):
    """The configured data key is unusable (missing file, not base64, wrong
    length, repeated): the exchange cannot start without it."""


class KeyWrapper(Protocol):
    """Seals data keys for the key file under a key held elsewhere (a token)."""

    def wrap(self, key: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes) -> bytes:
        """The key inside ``wrapped``; ValueError if it does not open."""
        ...


def default_key_file(data_dir: Path, wrapper: KeyWrapper | None = None) -> Path:
    name = "data.key" if wrapper is None else "data.key.wrapped"
    return Path(data_dir) / "keys" / name


def open_cipher(
    data_dir: Path, environ: Mapping[str, str] | None = None, wrapper: KeyWrapper | None = None
) -> FieldCipher:
    """The cipher over every configured data key: what ``open_store`` takes."""
    keys = load_data_keys(data_dir, environ, wrapper)
    try:
        return FieldCipher(keys)
    except ValueError as error:
        raise DataKeyError(f"data keys: {error}") from None


def load_data_key(data_dir: Path) -> bytes:
    """The current data key: the one new values are sealed under."""
    return load_data_keys(data_dir)[0]


def load_data_keys(
    data_dir: Path, environ: Mapping[str, str] | None = None, wrapper: KeyWrapper | None = None
) -> list[bytes]:
    """Every data key, the current first, from the first source configured."""
    env = os.environ if environ is None else environ
    if env.get(ENV_KEY):
        return parse_keys(env[ENV_KEY].replace(",", "\n"), ENV_KEY)
    if env.get(ENV_FILE):
        path = Path(env[ENV_FILE])
        wrapper = None  # a file from a secret store holds plain keys
    else:
        path = default_key_file(data_dir, wrapper)
        if not path.exists():
            _create(path, [os.urandom(KEY_BYTES)], wrapper)
    try:
        text = path.read_text()
    except OSError as error:
        raise DataKeyError(f"cannot read the data key file {path}: {error}") from None
    return parse_keys(text, str(path), wrapper)


def key_file(
    data_dir: Path, environ: Mapping[str, str] | None = None, wrapper: KeyWrapper | None = None
) -> Path | None:
    """The file the keys are kept in, or None when they come from ``STX_DATA_KEY``."""
    env = os.environ if environ is None else environ
    if env.get(ENV_KEY):
        return None
    if env.get(ENV_FILE):
        return Path(env[ENV_FILE])
    return default_key_file(data_dir, wrapper)


def parse_keys(text: str, origin: str, wrapper: KeyWrapper | None = None) -> list[bytes]:
    """The keys in ``text`` (one base64 key, or wrapped key, per line), checked."""
    keys = []
    for number, line in enumerate(text.splitlines(), 1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        try:
            key = base64.b64decode(entry, validate=True)
        except binascii.Error:
            raise DataKeyError(f"{origin}: key {number} is not base64") from None
        if wrapper is not None:
            try:
                key = wrapper.unwrap(key)
            except ValueError as error:
                raise DataKeyError(f"{origin}: key {number}: {error}") from None
        if len(key) != KEY_BYTES:
            raise DataKeyError(
                f"{origin}: key {number} is {len(key)} bytes; a data key is {KEY_BYTES} "
                "random bytes in base64 (`head -c 32 /dev/urandom | base64`)"
            )
        keys.append(key)
    if not keys:
        raise DataKeyError(f"{origin}: no data key in it")
    return keys


def add_new_key(path: Path, wrapper: KeyWrapper | None = None) -> bytes:
    """Put a new random key first in the key file ``path`` (keeping the others)
    and return it. The file is replaced atomically: a crash leaves the old ring
    or the new one, never a ring without a key that sealed something."""
    keys = parse_keys(path.read_text(), str(path), wrapper)
    new = os.urandom(KEY_BYTES)
    _write(path, [new, *keys], wrapper, replace=True)
    return new


def _create(path: Path, keys: list[bytes], wrapper: KeyWrapper | None) -> None:
    # Two processes starting at once must end up with one key: write a private
    # temporary file, then link it into place, which fails if the other won.
    with contextlib.suppress(FileExistsError):
        _write(path, keys, wrapper, replace=False)


def _write(path: Path, keys: list[bytes], wrapper: KeyWrapper | None, *, replace: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    stored = keys if wrapper is None else [wrapper.wrap(key) for key in keys]
    text = "".join(base64.b64encode(key).decode() + "\n" for key in stored)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)

"""Opening the store, as every process that reads or writes it does."""

from __future__ import annotations

from pathlib import Path

from server.config import Settings
from server.hsm.key_source import data_key_wrapper
from server.secret_values import database_url
from server.store import Store, default_url, open_store
from server.store.data_key import open_cipher


async def open_configured_store(settings: Settings) -> Store:
    """The configured database (SQLite in the data directory by default),
    with the data keys that seal personal data."""
    directory = Path(settings.data_dir)
    url = database_url(settings.database_url or default_url(directory))
    cipher = open_cipher(directory, wrapper=data_key_wrapper(settings))
    return await open_store(url, cipher)

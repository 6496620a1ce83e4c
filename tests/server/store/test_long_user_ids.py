"""User ids of single sign-on (``oidc:<sub>``, a subject of up to 255
characters) fit every column that records who did something, on both
backends: PostgreSQL refuses a value longer than its column, SQLite does not."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from sqlalchemy import select

from server.auth.directory import UserDirectory
from server.auth.keys import KeyRing
from server.auth.tokens import TokenIssuer
from server.model.alerts import Alert, AlertKind, AlertSeverity
from server.shared import MemoryShared
from server.store import open_store
from server.store.field_crypto import FieldCipher
from server.store.schema import auth_log

OIDC_USER = "oidc:" + "f3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d" * 7  # 5 + 252 characters


def test_an_oidc_users_alert_and_auth_entry_are_stored(store_url: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        store = await open_store(store_url, FieldCipher([os.urandom(32)]))
        tokens = TokenIssuer(KeyRing(tmp_path / "keys", 900), "https://stx.test", "stx")
        try:
            directory = UserDirectory(store, MemoryShared(), tokens)
            await directory.record("alert_reviewed", OIDC_USER, OIDC_USER, "10.0.0.1", "alert 1")
            manual = Alert(
                kind=AlertKind.MANUAL, severity=AlertSeverity.HIGH, account="ACC",
                symbol="AAPL", description="raised by hand", order_ids=(), trade_ids=(),
                start_time=0, end_time=0, details=(), create_time=1, creator_user_id=OIDC_USER,
            )  # fmt: skip
            (stored,) = await store.add_alerts([manual])
            assert stored.creator_user_id == OIDC_USER
            async with store.engine.connect() as connection:
                row = await connection.execute(select(auth_log.c.user_id, auth_log.c.username))
                assert tuple(row.one()) == (OIDC_USER, OIDC_USER)
        finally:
            await store.close()

    asyncio.run(scenario())

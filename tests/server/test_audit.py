"""The hash-chained audit logs: complete, attributed, and tamper-evident."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
from sqlalchemy import delete, update
from stocktraderx.v1 import common_pb2, orders_pb2, orders_pb2_grpc, users_pb2, users_pb2_grpc

from server import admin_tools
from server.app import Exchange
from server.audit import AUDIT_FIELDS, GENESIS, entry_hash, verify
from server.store import schema
from tests.server.local import local_settings, prepare_accounts

PASSWORD = "correct horse battery"


def _chain(count: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    previous = GENESIS
    for sequence in range(1, count + 1):
        row: dict[str, object] = dict.fromkeys(AUDIT_FIELDS, f"v{sequence}")
        row["sequence"] = sequence
        row["previous_hash"] = previous
        row["hash"] = previous = entry_hash(previous, row, AUDIT_FIELDS)
        rows.append(row)
    return rows


def test_verify_names_the_first_entry_that_does_not_hold() -> None:
    rows = _chain(5)
    assert verify(rows, AUDIT_FIELDS, "sequence") == (5, None)
    edited = [dict(row) for row in rows]
    edited[2]["detail"] = "something else"
    assert verify(edited, AUDIT_FIELDS, "sequence") == (2, "sequence 3: its content was changed")
    removed = rows[:2] + rows[3:]
    assert verify(removed, AUDIT_FIELDS, "sequence")[1] == "sequence 3 is missing (next is 4)"
    last_gone = rows[1:]
    assert verify(last_gone, AUDIT_FIELDS, "sequence")[1] == (
        "sequence 2: does not follow the entry before it"
    )


def test_every_command_and_sign_in_is_logged_with_its_sender(tmp_path: Path) -> None:
    async def scenario() -> None:
        settings = local_settings(tmp_path)
        exchange = Exchange(settings)
        await exchange.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{exchange.port}") as channel:
                users = users_pb2_grpc.UserServiceStub(channel)
                registered = await users.Register(
                    users_pb2.RegisterRequest(
                        username="ann", email="ann@example.com", password=PASSWORD
                    )
                )
                await prepare_accounts(exchange, "ANN")  # opened by the registration
                session = await users.Login(
                    users_pb2.LoginRequest(username="ann", password=PASSWORD)
                )
                await orders_pb2_grpc.OrderServiceStub(channel).PlaceOrder(
                    orders_pb2.PlaceOrderRequest(
                        account_id="ANN", client_order_id="a1", symbol="AAPL",
                        side=common_pb2.SIDE_BUY, order_type=common_pb2.ORDER_TYPE_LIMIT,
                        quantity=10, price=1_890_000,
                    ),
                    metadata=(("authorization", f"Bearer {session.access_token}"),),
                )  # fmt: skip
            assert exchange.projector is not None
            assert exchange.core is not None
            await exchange.projector.caught_up(exchange.core.sequencer.sequence)
            store = exchange.store
            assert store is not None
            entries = await store.rows(schema.audit_log, ["sequence"])
            mine = [row for row in entries if row.client_order_id == "a1"]
            assert (mine[0].account_id, mine[0].gateway, mine[0].source) == (
                "ANN", "grpc", "127.0.0.1",
            )  # fmt: skip
            assert mine[0].user_id == registered.user.user_id
            # The risk configuration, journaled at first start and when the
            # registration opened ANN, is attributed to the configuration.
            configured = [
                (row.action, row.account_id)
                for row in entries
                if row.user_id == "system:configuration"
            ]
            assert configured == [
                ("ConfigureControls", ""),
                ("SetRiskLimits", ""),
                ("SetRiskLimits", "ANN"),
            ]
            events = await store.rows(schema.auth_log, ["entry_id"])
            assert [row.event for row in events] == ["register", "login"]
            verdicts = await admin_tools.verify_audit(settings)
            assert [problem for _, _, problem in verdicts] == [None, None]
            # Someone edits an order in the log, and removes a sign-in.
            async with store.engine.begin() as connection:
                await connection.execute(
                    update(schema.audit_log)
                    .where(schema.audit_log.c.sequence == mine[0].sequence)
                    .values(detail="[]")
                )
                await connection.execute(
                    delete(schema.auth_log).where(schema.auth_log.c.entry_id == 1)
                )
            tampered = await admin_tools.verify_audit(settings)
            assert tampered[0][2] == f"sequence {mine[0].sequence}: its content was changed"
            assert tampered[1][2] == "entry_id 2: does not follow the entry before it"
        finally:
            await exchange.stop()

    asyncio.run(scenario())

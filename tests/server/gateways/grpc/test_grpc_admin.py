"""The administrator's service over gRPC, sign-in required: users created,
listed, their roles changed, disabled and enabled again (and what that does to
their credentials), accounts listed, the audit logs read and verified, a
tampered entry found. One exchange for the whole scenario."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from stocktraderx.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    common_pb2,
    options_pb2,
    orders_pb2,
    orders_pb2_grpc,
    risk_pb2,
    risk_pb2_grpc,
    users_pb2,
    users_pb2_grpc,
)

from server.app import Exchange
from tests.server.local import TEST_CASH, local_settings, prepare_accounts

PASSWORD = "correct horse battery"
ADMIN, TRADER, VIEWER = options_pb2.ROLE_ADMIN, options_pb2.ROLE_TRADER, options_pb2.ROLE_VIEWER
DENIED = grpc.StatusCode.PERMISSION_DENIED


def _bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


async def _refused(call: Awaitable[object], code: grpc.StatusCode, reason: str) -> str:
    """Await ``call``, expect the refusal; its message."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    failure = caught.value
    assert failure.code() == code, failure.details()
    status = rpc_status.from_call(failure)  # type: ignore[arg-type]
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert info.reason == reason, (info.reason, status.message)
    return str(status.message)


def test_administration_of_users_accounts_and_audit_logs(tmp_path: Path) -> None:
    async def main() -> None:
        exchange = Exchange(local_settings(tmp_path, auth_required=True))
        await exchange.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{exchange.port}") as channel:
                await _scenario(exchange, channel, tmp_path / "stx.db")
        finally:
            await exchange.stop()

    asyncio.run(main())


async def _scenario(exchange: Exchange, channel: grpc.aio.Channel, database: Path) -> None:
    users = users_pb2_grpc.UserServiceStub(channel)
    admin = admin_pb2_grpc.AdminServiceStub(channel)
    risk = risk_pb2_grpc.RiskServiceStub(channel)
    assert exchange.directory is not None
    root_user = await exchange.directory.register("root", "root@example.com", PASSWORD, (ADMIN,))
    root_login = await users.Login(users_pb2.LoginRequest(username="root", password=PASSWORD))
    root = _bearer(root_login.access_token)

    # Only administrators: a trader and a risk officer are refused.
    await users.Register(
        users_pb2.RegisterRequest(username="carol", email="c@example.com", password=PASSWORD)
    )
    carol = await users.Login(users_pb2.LoginRequest(username="carol", password=PASSWORD))
    assert exchange.tokens is not None
    officer = exchange.tokens.issue("officer", (options_pb2.ROLE_RISK_OFFICER,))[0]
    for token in (carol.access_token, officer):
        await _refused(
            admin.ListUsers(admin_pb2.ListUsersRequest(), metadata=_bearer(token)),
            DENIED, "FORBIDDEN",
        )  # fmt: skip
    # But for the account list, which risk officers watch too.
    await _refused(
        admin.ListAccounts(admin_pb2.ListAccountsRequest(), metadata=_bearer(carol.access_token)),
        DENIED, "FORBIDDEN",
    )  # fmt: skip
    watched = await admin.ListAccounts(admin_pb2.ListAccountsRequest(), metadata=_bearer(officer))
    assert "CAROL" in [summary.account.account_id for summary in watched.accounts]

    # Create a trader with a second account; the password rules are Register's.
    weak = admin_pb2.CreateUserRequest(
        username="bob", email="b@example.com", password="short", roles=[TRADER]
    )
    await _refused(
        admin.CreateUser(weak, metadata=root), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"
    )
    no_roles = admin_pb2.CreateUserRequest(username="bob", email="b@example.com", password=PASSWORD)
    await _refused(
        admin.CreateUser(no_roles, metadata=root),
        grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT",
    )  # fmt: skip
    taken = admin_pb2.CreateUserRequest(
        username="bob", email="b@example.com", password=PASSWORD, roles=[TRADER],
        account_ids=["CAROL"],
    )  # fmt: skip
    await _refused(admin.CreateUser(taken, metadata=root), grpc.StatusCode.ALREADY_EXISTS, "EXISTS")
    created = await admin.CreateUser(
        admin_pb2.CreateUserRequest(
            username="bob", email="b@example.com", password=PASSWORD, roles=[TRADER],
            account_ids=["BOB.ALGO"],
        ),
        metadata=root,
    )  # fmt: skip
    bob_id = created.user.user_id
    assert (list(created.user.roles), list(created.user.account_ids)) == (
        [TRADER],
        ["BOB", "BOB.ALGO"],
    )
    listed = await admin.ListUsers(admin_pb2.ListUsersRequest(page_size=2), metadata=root)
    assert [user.username for user in listed.users] == ["bob", "carol"]
    rest = await admin.ListUsers(
        admin_pb2.ListUsersRequest(page_token=listed.next_page_token), metadata=root
    )
    assert ([user.username for user in rest.users], rest.next_page_token) == (["root"], "")

    # Bob signs in, makes an API key, trades on a stream; then he is disabled.
    bob_login = await users.Login(users_pb2.LoginRequest(username="bob", password=PASSWORD))
    bob = _bearer(bob_login.access_token)
    await prepare_accounts(exchange, "BOB")
    stream = orders_pb2_grpc.OrderServiceStub(channel).OrderStream(metadata=bob)  # type: ignore[call-arg]  # the stubs want an iterator; write() is the other way
    await stream.write(_place("BOB"))
    opened: Any = await asyncio.wait_for(stream.read(), 10)
    assert opened.reports[0].exec_type == orders_pb2.EXEC_TYPE_NEW
    key = await users.CreateApiKey(users_pb2.CreateApiKeyRequest(label="algo"), metadata=bob)
    exchange_key = users_pb2.ExchangeApiKeyRequest(key_id=key.api_key.key_id, secret=key.secret)
    key_token = _bearer((await users.ExchangeApiKey(exchange_key)).access_token)
    await _refused(
        admin.DisableUser(admin_pb2.DisableUserRequest(user_id=bob_id), metadata=root),
        grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT",
    )  # fmt: skip
    disabled = await admin.DisableUser(
        admin_pb2.DisableUserRequest(user_id=bob_id, reason="left the firm"), metadata=root
    )
    assert disabled.user.disabled
    me = users_pb2.GetCurrentUserRequest()
    for issued in (bob, key_token):  # tokens already issued: refused at once
        await _refused(
            users.GetCurrentUser(me, metadata=issued), grpc.StatusCode.UNAUTHENTICATED,
            "UNAUTHENTICATED",
        )  # fmt: skip
    with pytest.raises(grpc.aio.AioRpcError) as ended:  # and the open stream ended
        await _read_to_the_end(stream)
    assert ended.value.code() is grpc.StatusCode.UNAUTHENTICATED
    message = await _refused(
        users.Login(users_pb2.LoginRequest(username="bob", password=PASSWORD)),
        DENIED, "USER_DISABLED",
    )  # fmt: skip
    assert "disabled" in message
    refresh = users_pb2.RefreshTokenRequest(refresh_token=bob_login.refresh_token)
    await _refused(users.RefreshToken(refresh), DENIED, "USER_DISABLED")
    await _refused(users.ExchangeApiKey(exchange_key), DENIED, "USER_DISABLED")
    listed = await admin.ListUsers(admin_pb2.ListUsersRequest(), metadata=root)
    assert [user.disabled for user in listed.users] == [True, False, False]

    # Enabled again: the same session refreshes, sign-in and the key work.
    enabled = await admin.EnableUser(
        admin_pb2.EnableUserRequest(user_id=bob_id, reason="came back"), metadata=root
    )
    assert not enabled.user.disabled
    assert (await users.GetCurrentUser(me, metadata=bob)).user.username == "bob"
    refreshed = await users.RefreshToken(refresh)
    await users.Login(users_pb2.LoginRequest(username="bob", password=PASSWORD))
    await users.ExchangeApiKey(exchange_key)

    # Roles decide what bob may call, from his next token on.
    await _refused(
        admin.ListUsers(admin_pb2.ListUsersRequest(), metadata=_bearer(refreshed.access_token)),
        DENIED, "FORBIDDEN",
    )  # fmt: skip
    promoted = await admin.SetUserRoles(
        admin_pb2.SetUserRolesRequest(user_id=bob_id, roles=[ADMIN, TRADER]), metadata=root
    )
    assert list(promoted.user.roles) == [TRADER, ADMIN]
    again = await users.RefreshToken(
        users_pb2.RefreshTokenRequest(refresh_token=refreshed.refresh_token)
    )
    await admin.ListUsers(admin_pb2.ListUsersRequest(), metadata=_bearer(again.access_token))
    # The key was made with TRADER only: its tokens never carry ADMIN.
    key_token = _bearer((await users.ExchangeApiKey(exchange_key)).access_token)
    await _refused(
        admin.ListUsers(admin_pb2.ListUsersRequest(), metadata=key_token), DENIED, "FORBIDDEN"
    )
    await admin.SetUserRoles(
        admin_pb2.SetUserRolesRequest(user_id=bob_id, roles=[VIEWER]), metadata=root
    )
    await _refused(users.ExchangeApiKey(exchange_key), DENIED, "FORBIDDEN")

    # No administrator can lock themselves out.
    await _refused(
        admin.DisableUser(
            admin_pb2.DisableUserRequest(user_id=root_user.user_id, reason="oops"), metadata=root
        ),
        grpc.StatusCode.FAILED_PRECONDITION, "SELF_LOCKOUT",
    )  # fmt: skip
    await _refused(
        admin.SetUserRoles(
            admin_pb2.SetUserRolesRequest(user_id=root_user.user_id, roles=[TRADER]),
            metadata=root,
        ),
        grpc.StatusCode.FAILED_PRECONDITION, "SELF_LOCKOUT",
    )  # fmt: skip
    await _refused(
        admin.EnableUser(admin_pb2.EnableUserRequest(user_id="nobody", reason="x"), metadata=root),
        grpc.StatusCode.NOT_FOUND, "NOT_FOUND",
    )  # fmt: skip

    # Accounts: owner, cash and limits, paged by id.
    await risk.FundAccount(
        risk_pb2.FundAccountRequest(account_id="BOB", amount=5_000_0000, reason="seed"),
        metadata=root,
    )
    accounts = await admin.ListAccounts(admin_pb2.ListAccountsRequest(), metadata=root)
    by_id = {summary.account.account_id: summary for summary in accounts.accounts}
    assert {"BOB", "BOB.ALGO", "CAROL", "ROOT"} <= set(by_id)
    assert by_id["BOB"].username == "bob"
    assert by_id["BOB"].account.user_id == bob_id
    assert by_id["BOB"].account.cash_balance == TEST_CASH + 5_000_0000
    assert by_id["BOB"].risk.account_id == "BOB"
    assert by_id["BOB"].risk.limits.allow_short_selling  # prepare_accounts' open limits
    assert by_id["BOB"].risk.usage.open_orders == 1  # the order of the ended stream
    assert by_id["CAROL"].risk.limits.HasField("max_order_quantity")  # a trader's defaults
    first = await admin.ListAccounts(admin_pb2.ListAccountsRequest(page_size=1), metadata=root)
    second = await admin.ListAccounts(
        admin_pb2.ListAccountsRequest(page_size=1, page_token=first.next_page_token),
        metadata=root,
    )
    ids = [summary.account.account_id for summary in accounts.accounts]
    assert [first.accounts[0].account.account_id, second.accounts[0].account.account_id] == ids[:2]

    # The audit logs: each admin action is in auth_log, with who did it.
    auth = await admin.ListAuditEntries(
        admin_pb2.ListAuditEntriesRequest(log=admin_pb2.AUDIT_LOG_AUTH, page_size=1000),
        metadata=root,
    )
    numbers = [entry.number for entry in auth.entries]
    assert numbers == sorted(numbers, reverse=True)
    actions = {entry.action: entry for entry in auth.entries}
    for action in ("user_created", "user_disabled", "user_enabled", "roles_changed"):
        assert actions[action].user_id == bob_id
        assert actions[action].detail.startswith(f"by {root_user.user_id}: ")
    assert actions["user_disabled"].detail.endswith("left the firm")
    assert actions["login_disabled"].username == "bob"
    page = await admin.ListAuditEntries(
        admin_pb2.ListAuditEntriesRequest(log=admin_pb2.AUDIT_LOG_AUTH, page_size=2),
        metadata=root,
    )
    following = await admin.ListAuditEntries(
        admin_pb2.ListAuditEntriesRequest(
            log=admin_pb2.AUDIT_LOG_AUTH, page_size=2, page_token=page.next_page_token
        ),
        metadata=root,
    )
    assert [entry.number for entry in (*page.entries, *following.entries)] == numbers[:4]
    await _refused(
        admin.ListAuditEntries(admin_pb2.ListAuditEntriesRequest(), metadata=root),
        grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT",
    )  # fmt: skip
    assert exchange.core is not None
    assert exchange.projector is not None
    await exchange.projector.caught_up(exchange.core.sequencer.sequence)
    commands = await admin.ListAuditEntries(
        admin_pb2.ListAuditEntriesRequest(log=admin_pb2.AUDIT_LOG_COMMANDS, page_size=5),
        metadata=root,
    )
    assert (commands.entries[0].action, commands.entries[0].account_id) == ("FundAccount", "BOB")

    verified = await admin.VerifyAuditLogs(admin_pb2.VerifyAuditLogsRequest(), metadata=root)
    assert [(log.log, log.holds, log.first_problem) for log in verified.logs] == [
        (admin_pb2.AUDIT_LOG_COMMANDS, True, ""),
        (admin_pb2.AUDIT_LOG_AUTH, True, ""),
    ]
    assert verified.logs[0].entries_checked >= 1
    assert verified.logs[1].entries_checked == len(numbers)  # reads are not recorded

    # Someone edits an entry in the store: the verification names it.
    tampered = actions["user_disabled"].number
    with sqlite3.connect(database) as connection:
        connection.execute(
            "UPDATE auth_log SET detail = 'nothing to see' WHERE entry_id = ?", (tampered,)
        )
    verified = await admin.VerifyAuditLogs(admin_pb2.VerifyAuditLogsRequest(), metadata=root)
    assert verified.logs[0].holds
    broken = verified.logs[1]
    assert not broken.holds
    assert broken.first_problem == f"entry_id {tampered}: its content was changed"
    assert broken.entries_checked == tampered - 1


def _place(account: str) -> orders_pb2.OrderStreamRequest:
    order = orders_pb2.PlaceOrderRequest(
        account_id=account, client_order_id="resting", symbol="AAPL",
        side=common_pb2.SIDE_BUY, order_type=common_pb2.ORDER_TYPE_LIMIT,
        time_in_force=common_pb2.TIME_IN_FORCE_GTC, quantity=100, price=1_890_000,
    )  # fmt: skip
    return orders_pb2.OrderStreamRequest(commands=[orders_pb2.OrderCommand(place=order)])


async def _read_to_the_end(stream: Any) -> None:
    """Read until the stream fails (heartbeats and reports until then)."""
    while True:
        try:
            answer = await asyncio.wait_for(stream.read(), 10)
        except TimeoutError:
            stream.cancel()  # not left open for the exchange's stop
            raise AssertionError("the stream is still open") from None
        assert answer is not grpc.aio.EOF, "the stream ended without a status"  # type: ignore[attr-defined]

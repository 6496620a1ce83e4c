"""The administrator's service: users, roles, accounts and the audit logs.

Users are read and changed in the store through ``Administration`` (which
records each change in the auth log); accounts are read from the engine's
ledgers as of the last command, as the risk service reads them.
"""

from __future__ import annotations

from typing import Any, NoReturn

from sqlalchemy import Row
from stocktraderx.v1 import admin_pb2 as pb
from stocktraderx.v1 import admin_pb2_grpc

from server.auth.access import current_principal
from server.auth.administration import AUTH, COMMANDS, USERNAME_AFTER, Actor, Administration, Log
from server.auth.directory import AuthRefusal
from server.errors import abort, invalid_argument, refusal_status
from server.gateways.grpc.calls import Context, origin_of, page_size, page_token
from server.gateways.grpc.risk_messages import account_message, account_risk, timestamp
from server.gateways.grpc.users import user_message
from server.model.view import CoreView

_LOGS = {pb.AUDIT_LOG_COMMANDS: COMMANDS, pb.AUDIT_LOG_AUTH: AUTH}


async def _refuse(context: Context, refusal: AuthRefusal) -> NoReturn:
    await abort(context, refusal_status(refusal.kind, str(refusal), refusal.field))


def _actor(context: Context) -> Actor:
    origin = origin_of(context)
    principal = current_principal()
    # Without authentication (a test exchange) nobody is acting: "" is no user.
    return Actor(principal.user_id if principal else "", origin.source, origin.gateway)


def _entry(log: Log, row: Row[Any]) -> pb.AuditEntry:
    values = row._mapping
    commands = log is COMMANDS
    return pb.AuditEntry(
        number=values[log.key],
        time=timestamp(values["time"]),
        action=values["action"] if commands else values["event"],
        user_id=values["user_id"],
        username="" if commands else values["username"],
        account_id=values["account_id"] if commands else "",
        client_order_id=values["client_order_id"] if commands else "",
        source=values["source"],
        gateway=values["gateway"],
        detail=values["detail"],
        hash=values["hash"],
    )


class AdminService(admin_pb2_grpc.AdminServiceServicer):
    def __init__(self, core: CoreView, administration: Administration) -> None:
        self._core = core
        self._admin = administration

    async def ListUsers(  # noqa: N802 - the contract's name
        self, request: pb.ListUsersRequest, context: Context
    ) -> pb.ListUsersResponse:
        size = await page_size(request.page_size, context)
        after = request.page_token
        if after and not USERNAME_AFTER.fullmatch(after):
            await abort(context, invalid_argument("page_token", "page_token is not one we issued"))
        found = await self._admin.users_page(after, size + 1)
        page = found[:size]
        return pb.ListUsersResponse(
            users=[user_message(user) for user in page],
            next_page_token=page[-1].username if len(found) > size else "",
        )

    async def CreateUser(  # noqa: N802
        self, request: pb.CreateUserRequest, context: Context
    ) -> pb.CreateUserResponse:
        try:
            user = await self._admin.create_user(
                _actor(context), request.username, request.email, request.password,
                tuple(request.roles), tuple(request.account_ids),
            )  # fmt: skip
        except AuthRefusal as refusal:
            await _refuse(context, refusal)
        return pb.CreateUserResponse(user=user_message(user))

    async def SetUserRoles(  # noqa: N802
        self, request: pb.SetUserRolesRequest, context: Context
    ) -> pb.SetUserRolesResponse:
        try:
            user = await self._admin.set_roles(
                _actor(context), request.user_id, tuple(request.roles)
            )
        except AuthRefusal as refusal:
            await _refuse(context, refusal)
        return pb.SetUserRolesResponse(user=user_message(user))

    async def DisableUser(  # noqa: N802
        self, request: pb.DisableUserRequest, context: Context
    ) -> pb.DisableUserResponse:
        try:
            user = await self._admin.set_disabled(
                _actor(context), request.user_id, True, request.reason
            )
        except AuthRefusal as refusal:
            await _refuse(context, refusal)
        return pb.DisableUserResponse(user=user_message(user))

    async def EnableUser(  # noqa: N802
        self, request: pb.EnableUserRequest, context: Context
    ) -> pb.EnableUserResponse:
        try:
            user = await self._admin.set_disabled(
                _actor(context), request.user_id, False, request.reason
            )
        except AuthRefusal as refusal:
            await _refuse(context, refusal)
        return pb.EnableUserResponse(user=user_message(user))

    async def ListAccounts(  # noqa: N802
        self, request: pb.ListAccountsRequest, context: Context
    ) -> pb.ListAccountsResponse:
        size = await page_size(request.page_size, context)
        owners = await self._admin.owners()
        engine = self._core.engine
        ledgers = engine.risk.accounts
        after = request.page_token
        known = sorted(account for account in {*owners, *ledgers} if account > after)
        page = known[:size]
        now = self._core.sequencer.now()
        summaries = []
        for account in page:
            user_id, username = owners.get(account, ("", ""))
            ledger = ledgers.get(account)
            summaries.append(
                pb.AccountSummary(
                    account=account_message(engine, account, user_id, ledger),
                    username=username,
                    risk=account_risk(engine, account, ledger, now),
                )
            )
        return pb.ListAccountsResponse(
            accounts=summaries, next_page_token=page[-1] if len(known) > size else ""
        )

    async def ListAuditEntries(  # noqa: N802
        self, request: pb.ListAuditEntriesRequest, context: Context
    ) -> pb.ListAuditEntriesResponse:
        log = _LOGS.get(request.log)
        if log is None:
            await abort(
                context,
                invalid_argument("log", "log is required: AUDIT_LOG_COMMANDS or AUDIT_LOG_AUTH"),
            )
        size = await page_size(request.page_size, context)
        before = await page_token(request.page_token, context)
        rows = await self._admin.entries(log, before, size + 1)
        page = rows[:size]
        return pb.ListAuditEntriesResponse(
            entries=[_entry(log, row) for row in page],
            next_page_token=str(page[-1]._mapping[log.key]) if len(rows) > size else "",
        )

    async def VerifyAuditLogs(  # noqa: N802
        self, request: pb.VerifyAuditLogsRequest, context: Context
    ) -> pb.VerifyAuditLogsResponse:
        results = []
        for number, log in _LOGS.items():
            checked, problem = await self._admin.verify(log)
            results.append(
                pb.AuditVerification(
                    log=number,
                    entries_checked=checked,
                    holds=problem is None,
                    first_problem=problem or "",
                )
            )
        return pb.VerifyAuditLogsResponse(logs=results)

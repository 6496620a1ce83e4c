"""Who may sign in: the token keys, the first administrator, the demo users.

Shared by the gateway process and the in-process ``Exchange``; the demo's
simulator (``stx serve --simulate``) is started from here too, since it signs
with a token minted by the gateway's keys.
"""

from __future__ import annotations

import asyncio
import logging
import os

from server.auth.access import ADMIN, ROLES_BY_NAME
from server.auth.directory import TRADER, AuthRefusal, UserDirectory
from server.auth.keys import KeyRing
from server.auth.tokens import TokenIssuer
from server.config import ConfigError
from server.processes.simulator import simulator_launch
from server.risk_setup import AccountSetup
from server.supervisor import SupervisedChild
from server.transport.security import ServerTls

_log = logging.getLogger("stx.serve")
KEY_ROTATION_SECONDS = 7 * 24 * 3600
SIMULATOR_TOKEN = 30 * 24 * 3600
MARKET_MAKER = 3
DEMO_USERS = (
    ("demo", "market-open-0930", (TRADER,)),
    ("admin", "operations-desk-1600", (ADMIN, TRADER)),
)


async def rotate_keys(keys: KeyRing) -> None:
    """A new signing key every KEY_ROTATION_SECONDS; tokens of the old one
    stay valid until they expire, so rotation needs no downtime."""
    while True:
        await asyncio.sleep(3_600)
        if keys.rotate_if_due(KEY_ROTATION_SECONDS):
            _log.info("token signing key rotated; new key id %s", keys.signing.kid)


async def bootstrap_admin(directory: UserDirectory) -> None:
    """The first administrator of a container, from STX_ADMIN_USERNAME and
    STX_ADMIN_PASSWORD (created once; later starts leave it alone)."""
    username = os.environ.get("STX_ADMIN_USERNAME")
    password = os.environ.get("STX_ADMIN_PASSWORD")
    if not username or not password:
        return
    email = os.environ.get("STX_ADMIN_EMAIL", f"{username}@localhost.localdomain")
    names = os.environ.get("STX_ADMIN_ROLES", "admin").split(",")
    unknown = [name for name in names if name.strip() not in ROLES_BY_NAME]
    if unknown:
        raise ConfigError(f"STX_ADMIN_ROLES: unknown roles {unknown}")
    roles = tuple(ROLES_BY_NAME[name.strip()] for name in names)
    try:
        created = await directory.ensure_user(username, email, password, roles)
    except AuthRefusal as refusal:
        raise ConfigError(f"STX_ADMIN_USERNAME/STX_ADMIN_PASSWORD: {refusal}") from None
    if created:
        _log.info("administrator %s created", username)


async def demo_users(directory: UserDirectory) -> None:
    """Known users for a demo (``make run``), printed so a newcomer can sign in."""
    for username, password, roles in DEMO_USERS:
        await directory.ensure_user(username, f"{username}@example.com", password, roles)
        _log.info("demo user %s, password %s: stx login --username %s", username, password,
                  username)  # fmt: skip


async def start_simulator(
    target: str,
    tokens: TokenIssuer,
    directory: UserDirectory,
    accounts: AccountSetup,
    tls: ServerTls | None,
) -> SupervisedChild:
    """``stx simulate`` in a child process, against the gRPC server at
    ``target``: the market a newcomer sees (server/processes/simulator.py). It trades
    for many accounts, so it signs with an administrator token minted here
    for each start, for as long as a demo runs."""
    await demo_users(directory)
    await accounts.fund_demo(tuple(username.upper() for username, _, _ in DEMO_USERS))
    material = tls.material if tls is not None else None

    def mint_token() -> str:
        token, _ = tokens.issue("system:simulator", (ADMIN, MARKET_MAKER), lifetime=SIMULATOR_TOKEN)
        return token

    launch = simulator_launch(
        target,
        (material.ca, material.client_cert, material.client_key) if material is not None else None,
        mint_token,
    )
    simulation = SupervisedChild("simulator", launch, log=_log)
    simulation.start()
    return simulation

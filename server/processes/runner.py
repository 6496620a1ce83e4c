"""``stx serve ROLE``: one role of the exchange in this process.

Each role is an object with ``start`` and ``stop``; this runs one on uvloop
until SIGINT or SIGTERM, then stops it. A start the operator can fix (a busy
port, a bad setting) ends with one line and exit code 2, a start the data
refuses (a damaged journal, a store ahead of it) with one line and exit 1,
as the single-process server did. Under the supervisor the process dies with
it and holds the data directory's lock it was handed (``child.py``); alone,
the core takes the lock itself (it is the journal's one writer).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol

import uvloop

from server.config import Settings
from server.datadir import PRIVATE_UMASK, lock_data_dir, prepare_data_dir
from server.logs.setup import configure_logging
from server.processes.child import OrphanError, announce_ready, follow_supervisor, supervised
from server.processes.failures import (
    REFUSED_EXIT,
    REFUSED_STARTS,
    SETTINGS_EXIT,
    STARTUP_ERRORS,
)
from server.processes.metrics import RoleMetrics
from server.processes.roles import LOG_SOURCED, NICENESS, ROLES
from server.processes.starting import start_unless_stopped
from server.runtime import settle_heap
from server.tracing.provider import start_tracing, stop_tracing

_log = logging.getLogger("stx.serve")


class Role(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def build(role: str, settings: Settings, simulate: bool = False) -> Role:
    """The role's process object; each imports only what it runs, so the
    feed's process carries no gRPC services and the rest's no engine."""
    if role == "core":
        from server.processes.core import CoreProcess  # noqa: PLC0415

        return CoreProcess(settings)
    if role == "gateway":
        from server.processes.gateway import GatewayProcess  # noqa: PLC0415

        return GatewayProcess(settings, simulate)
    if role == "feed":
        from server.processes.feed import FeedProcess  # noqa: PLC0415

        return FeedProcess(settings)
    if role == "projector":
        from server.processes.projector import ProjectorProcess  # noqa: PLC0415

        return ProjectorProcess(settings)
    if role == "surveillance":
        from server.processes.surveillance import SurveillanceProcess  # noqa: PLC0415

        return SurveillanceProcess(settings)
    if role == "analytics":
        from server.processes.analytics import AnalyticsProcess  # noqa: PLC0415

        return AnalyticsProcess(settings)
    if role == "rest":
        from server.processes.rest import RestProcess  # noqa: PLC0415

        return RestProcess(settings)
    if role == "relay":
        from server.processes.relay import RelayProcess  # noqa: PLC0415

        return RelayProcess(settings)
    if role == "fix":
        from server.processes.fix import FixProcess  # noqa: PLC0415

        return FixProcess(settings)
    if role == "standby":
        from server.processes.standby import StandbyProcess  # noqa: PLC0415

        return StandbyProcess(settings)
    raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")


async def serve_role(name: str, role: Role, metrics: RoleMetrics | None = None) -> None:
    """Start ``role``, serve until SIGINT or SIGTERM, stop it. A stop asked
    for while it starts (the supervisor stopping everything because another
    role failed) abandons the start and stops what did start. ``metrics``
    listens first, so a taken metrics port fails the start before any work."""
    if metrics is not None:
        await metrics.start()
    try:
        started = await start_unless_stopped(role.start(), role.stop, _log)
        if started is None:
            return
        starting, asked = started
        if starting.exception() is not None:
            asked.cancel()
            await role.stop()  # what did start (journal, store, ports) closes cleanly
            starting.result()  # raises it
        settle_heap()
        announce_ready(name)
        await asked
        _log.info("stop requested")
        await role.stop()
    finally:
        if metrics is not None:
            await metrics.stop()


def run_role(name: str, settings: Settings, simulate: bool = False) -> None:
    # Under the supervisor a console line gets the time and the role there.
    configure_logging(settings.log_format, settings.log_level, name, timestamps=not supervised())
    os.nice(NICENESS.get(name, 0))
    os.umask(PRIVATE_UMASK)  # everything created in the data directory is private
    directory = Path(settings.data_dir)
    try:
        inherited = follow_supervisor()
        if name in ("core", "standby") and inherited is None:
            prepare_data_dir(directory)
            lock_data_dir(directory)  # held until the process ends (each its journal's one writer)
        elif name in LOG_SOURCED and settings.relay.source:
            # Another host: the directory holds only this consumer's own files.
            prepare_data_dir(directory)
        role = build(name, settings, simulate)
        start_tracing(settings.tracing, name)
        try:
            uvloop.run(serve_role(name, role, RoleMetrics(name, settings)))
        finally:
            stop_tracing()  # the spans still queued go to the collector
    except OrphanError as error:
        _log.critical("%s", error)
        raise SystemExit(REFUSED_EXIT) from None
    except STARTUP_ERRORS as error:
        _log.critical("%s", error)
        raise SystemExit(SETTINGS_EXIT) from None
    except REFUSED_STARTS as error:
        _log.critical("cannot start: %s", error)
        raise SystemExit(REFUSED_EXIT) from None

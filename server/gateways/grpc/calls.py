"""What every gRPC service of the gateway does the same way: ending a call
with a google.rpc status, and paging."""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any

import grpc

from matching import RejectReason
from server.auth.access import current_principal
from server.errors import abort, invalid_argument, unavailable
from server.gateways.grpc.inputs import page_number
from server.gateways.grpc.traced import journaled_traceparent
from server.journal.codec import FORWARDED_FOR, Origin
from server.model.view import Applied, CoreUnavailableError, SequencerView

MAX_PAGE = 1_000
DEFAULT_PAGE = 100

Context = grpc.aio.ServicerContext[Any, Any]


async def committed(
    sequencer: SequencerView, context: Context, applied: Applied | None = None
) -> None:
    """``sequencer.durable()``, answering UNAVAILABLE if the core (in a gateway
    process, across the link) went away before it answered, or turned
    ``applied`` away unsequenced (sync replication with no standby in step)."""
    try:
        await sequencer.durable()
    except CoreUnavailableError as error:
        await abort(context, unavailable(str(error)))
    if applied is not None and applied.sequence < 0 and applied.events:
        await abort(context, unavailable(str(getattr(applied.events[0], "text", ""))))


def describe(reason: RejectReason, subject: str, text: str = "") -> str:
    """A refusal's message: the engine's own words (the limit and the value, for
    a risk control) when it gave some."""
    return f"{subject}: {reason.name.lower().replace('_', ' ')}" + (f": {text}" if text else "")


async def page_size(size: int, context: Context) -> int:
    if size < 0:
        await abort(context, invalid_argument("page_size", "page_size must not be negative"))
    return min(size or DEFAULT_PAGE, MAX_PAGE)


async def page_token(token: str, context: Context) -> int:
    if not token:
        return 0
    number = page_number(token)
    if number is None:
        await abort(context, invalid_argument("page_token", "page_token is not one we issued"))
    return number


def origin_of(context: Context, gateway: str = "grpc") -> Origin:
    """Who is calling and from where: for the audit log of their commands and
    the sign-in throttle per address; in a traced call, the ``traceparent``
    the core's span of the command will be a child of.

    The REST bridge calls on behalf of HTTP clients, so it passes each one's
    address as ``x-forwarded-for`` (as grpc-gateway does). That is believed
    only from a peer on this machine (loopback or a Unix socket, where the
    bridge runs inside ``stx serve`` or as ``stx rest`` beside it): anyone
    else could claim any address and slip past the throttle.
    """
    principal = current_principal()
    user_id = principal.user_id if principal else ""
    peer = context.peer() or "unknown"
    kind, _, rest = peer.partition(":")
    address, _, _ = rest.rpartition(":")
    traceparent = journaled_traceparent()
    if kind.startswith("unix") or address.startswith("127.") or address == "[::1]":
        forwarded = _forwarded_for(context)
        if forwarded is not None:
            return Origin(user_id, forwarded, "rest", traceparent)
    return Origin(user_id, address or kind, gateway, traceparent)


def _forwarded_for(context: Context) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == FORWARDED_FOR and isinstance(value, str):
            try:
                return str(ip_address(value.strip()))
            except ValueError:
                return None
    return None

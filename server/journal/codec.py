"""Engine commands as journal payloads, and back.

Each record is one compact JSON array: a kind tag, the client's id the
gateway received with the command ("" if none: the engine never sees it, but
execution reports and duplicate checks are rebuilt from the journal), then the
command's fields in declaration order, enums as their numbers. The client's
id is a new order's client order id, or a cancel's or replace's client
request id (journals from before request ids have "" there, which is what a
request without one still writes, so old and new journals read alike).
JSON (through orjson) keeps the journal readable with ordinary tools, and
decoding restores the exact NamedTuple, enums included, so a replay feeds
the engine what it saw live. Decoding checks every field's JSON type
against the command's annotations
(an int where an int is declared, never a float, string or boolean), so a
payload encode could not have written is refused instead of reaching the
engine: the journal's CRC says the bytes are the ones written, not that
whoever wrote them wrote a command.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from dataclasses import astuple
from enum import IntEnum
from typing import Any, NamedTuple

import orjson

from matching import (
    AddInstrument,
    AdvanceTime,
    CancelOrder,
    CancelReason,
    Command,
    ConfigureControls,
    FundAccount,
    Instrument,
    MassCancel,
    NewOrder,
    OrderType,
    ReplaceOrder,
    RiskLimits,
    SelfTradePrevention,
    SetKillSwitch,
    SetRiskLimits,
    SetTradingPhase,
    Side,
    TimeInForce,
    TradingPhase,
)


class CodecError(ValueError):
    """A payload that is not an encoded command: the journal is damaged."""


_KINDS: dict[type[Any], str] = {
    NewOrder: "N",
    CancelOrder: "C",
    ReplaceOrder: "R",
    MassCancel: "M",
    SetTradingPhase: "P",
    AddInstrument: "I",
    AdvanceTime: "T",
    FundAccount: "F",
    SetRiskLimits: "L",
    SetKillSwitch: "K",
    ConfigureControls: "G",
}


FORWARDED_FOR = "x-forwarded-for"
"""The gRPC metadata key by which the REST bridge names the HTTP client it
calls for (an Origin's source), as grpc-gateway does."""


class Origin(NamedTuple):
    """Who sent a command, from where, through which gateway (for the audit
    log), the W3C ``traceparent`` of the gateway's span when that trace is
    sampled (docs/observability.md, "Traces"), else empty, and when the
    gateway made the command (``received``: its clock, nanoseconds since the
    epoch; 0 when unknown), which the core keeps for the analytics store's
    latency (docs/compliance.md, "Latency over the day")."""

    user_id: str
    source: str
    gateway: str
    traceparent: str = ""
    received: int = 0


def encode(command: Command, client_order_id: str = "", origin: Origin | None = None) -> bytes:
    """The journal payload. With an origin, the second slot is the list
    ``[client_order_id, user_id, source, gateway]`` instead of the bare
    client order id (payloads written before origins existed stay readable);
    ``traceparent`` follows as a fifth item when there is one, and when
    ``received`` is known, a sixth (after an empty ``traceparent`` if none):
    the nanoseconds from ``received`` to the command's own timestamp (the
    sequencer's). A difference takes 6 to 8 digits where the time takes 19:
    every record carries it."""
    kind = _KINDS[type(command)]
    slot: str | list[str | int]
    if origin is None:
        slot = client_order_id
    elif origin.received:
        slot = [client_order_id, origin.user_id, origin.source, origin.gateway,
                origin.traceparent, command.timestamp - origin.received]  # fmt: skip
    elif origin.traceparent:
        slot = [client_order_id, origin.user_id, origin.source, origin.gateway, origin.traceparent]
    else:
        slot = [client_order_id, origin.user_id, origin.source, origin.gateway]
    if type(command) is AddInstrument:
        return orjson.dumps(
            [kind, slot, command.timestamp, astuple(command.instrument), command.phase]
        )
    if type(command) is SetRiskLimits and command.limits is not None:
        # orjson writes plain tuples as arrays, but not NamedTuples.
        return orjson.dumps([kind, slot, command.timestamp, command.account, [*command.limits]])
    return orjson.dumps([kind, slot, *command])


def _new_order(fields: list[Any]) -> NewOrder:
    (timestamp, account, symbol, side, order_type, quantity, price, tif, stop, display,
     post_only, stp, expire) = fields  # fmt: skip
    return NewOrder(
        timestamp,
        account,
        symbol,
        Side(side),
        OrderType(order_type),
        quantity,
        price,
        TimeInForce(tif),
        stop,
        display,
        post_only,
        SelfTradePrevention(stp),
        expire,
    )


def _mass_cancel(fields: list[Any]) -> MassCancel:
    timestamp, account, symbol, reason = fields
    return MassCancel(timestamp, account, symbol, CancelReason(reason))


def _set_phase(fields: list[Any]) -> SetTradingPhase:
    timestamp, symbol, phase = fields
    return SetTradingPhase(timestamp, symbol, TradingPhase(phase))


def _add_instrument(fields: list[Any]) -> AddInstrument:
    timestamp, instrument, phase = fields
    return AddInstrument(timestamp, Instrument(*instrument), TradingPhase(phase))


def _set_limits(fields: list[Any]) -> SetRiskLimits:
    timestamp, account, limits = fields
    return SetRiskLimits(timestamp, account, None if limits is None else RiskLimits(*limits))


def _kill_switch(fields: list[Any]) -> SetKillSwitch:
    timestamp, accounts, active, reason = fields
    return SetKillSwitch(timestamp, tuple(accounts), active, reason)


def _configure(fields: list[Any]) -> ConfigureControls:
    # Journals from before market order protection have no sixth field.
    timestamp, enforce, pause, reopen, levels, *protection = fields
    return ConfigureControls(
        timestamp, enforce, pause, reopen, tuple((fall, halt) for fall, halt in levels), *protection
    )


_DECODERS: dict[str, Callable[[list[Any]], Command]] = {
    "N": _new_order,
    "C": lambda fields: CancelOrder(*fields),
    "R": lambda fields: ReplaceOrder(*fields),
    "M": _mass_cancel,
    "P": _set_phase,
    "I": _add_instrument,
    "T": lambda fields: AdvanceTime(*fields),
    "F": lambda fields: FundAccount(*fields),
    "L": _set_limits,
    "K": _kill_switch,
    "G": _configure,
}


Check = Callable[[Any], bool]


def _check(hint: Any) -> Check:
    """Whether a decoded JSON value can stand for a field annotated ``hint``:
    exact JSON types (``True`` is not an int), enums as their numbers
    (their constructors check the number), tuples as arrays, a nested
    NamedTuple or dataclass as the array of its fields."""
    if hint is int or (isinstance(hint, type) and issubclass(hint, IntEnum)):
        return lambda value: type(value) is int
    if hint in (str, bool):
        return lambda value: type(value) is hint
    if hint is None or hint is type(None):
        return lambda value: value is None
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin is types.UnionType:
        options = [_check(option) for option in arguments]
        return lambda value: any(option(value) for option in options)
    if origin is tuple and len(arguments) == 2 and arguments[1] is Ellipsis:
        item = _check(arguments[0])
        return lambda value: type(value) is list and all(map(item, value))
    if origin is tuple:
        return _array([_check(argument) for argument in arguments], len(arguments))
    if isinstance(hint, type) and (dataclasses.is_dataclass(hint) or issubclass(hint, tuple)):
        return _record_check(hint)
    raise TypeError(f"no check for {hint!r}")  # a new kind of field: teach _check


def _array(checks: list[Check], required: int) -> Check:
    """An array of at least ``required`` and at most ``len(checks)`` items,
    each passing its check (the missing ones take their defaults)."""

    def check(value: Any) -> bool:
        return (
            type(value) is list
            and required <= len(value) <= len(checks)
            and all(item(field) for item, field in zip(checks, value, strict=False))
        )

    return check


def _record_check(record: type[Any]) -> Check:
    """A NamedTuple's or dataclass's fields as an array; fields added since a
    record was written have defaults, so the array may stop before them."""
    hints = typing.get_type_hints(record)
    if dataclasses.is_dataclass(record):
        fields = dataclasses.fields(record)
        names = [field.name for field in fields]
        required = sum(
            field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
            for field in fields
        )
    else:
        names = list(record._fields)
        required = len(names) - len(record._field_defaults)
    scalars = tuple(_scalar_type(hints[name]) for name in names)
    if None in scalars:
        return _array([_check(hints[name]) for name in names], required)

    def check(value: Any) -> bool:
        # The orders' hot path on replay: one comparison of types done in C
        # costs a tenth of a check per field.
        return (
            type(value) is list
            and required <= len(value) <= len(scalars)
            and tuple(map(type, value)) == scalars[: len(value)]
        )

    return check


def _scalar_type(hint: Any) -> type[Any] | None:
    """The JSON type of a scalar field, None for any other."""
    if hint in (int, str, bool):
        return typing.cast(type[Any], hint)
    if isinstance(hint, type) and issubclass(hint, IntEnum):
        return int
    return None


_FIELDS: dict[str, Check] = {kind: _record_check(command) for command, kind in _KINDS.items()}
"""Kind tag -> the check of the fields after the slot."""


def decode(payload: bytes) -> tuple[Command, str]:
    """The command and the client order id it came with."""
    command, client_order_id, _ = decode_with_origin(payload)
    return command, client_order_id


def decode_with_origin(payload: bytes) -> tuple[Command, str, Origin | None]:
    try:
        kind, slot, *fields = orjson.loads(payload)
        origin = None
        if isinstance(slot, list):
            client_order_id, *sender = slot
            # user, source, gateway[, traceparent[, nanoseconds since received]]
            if len(sender) not in (3, 4, 5):
                raise TypeError(slot)
            if len(sender) == 5:
                waited = sender.pop()
                if type(waited) is not int or not fields or type(fields[0]) is not int:
                    raise TypeError(slot)
                sender.append(fields[0] - waited)
            origin = Origin(*sender)
        else:
            client_order_id = slot
        if type(client_order_id) is not str or (
            origin is not None and not all(type(text) is str for text in origin[:4])
        ):
            raise TypeError(slot)
        if not _FIELDS[kind](fields):
            raise TypeError(f"fields of the wrong types for {kind!r}")
        return _DECODERS[kind](fields), client_order_id, origin
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise CodecError(f"not an encoded command: {payload[:80]!r}") from error

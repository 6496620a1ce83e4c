"""Journal payloads (``server.journal.codec``): what decode accepts is a command that
survives encoding again.

``decode_with_origin`` reads bytes from the journal; damage there must come
out as ``CodecError`` (the one documented refusal), never as another
exception. A payload it accepts must be one ``encode`` can write: every
field holds a value of its declared type (``AdvanceTime("x")`` or a price
of 1.5 would reach the engine on replay), and the command re-encodes and
decodes back to the same command: the same kind, the same field values and
the same field types (``CancelOrder(1, "A", 2)`` equals
``FundAccount(1, "A", 2)`` as a tuple, so the types are compared too), with
the same client order id and origin.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterator
from typing import Any

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
from server.journal.codec import CodecError, Origin, decode_with_origin, encode


def _shape(value: Any) -> Any:
    """A value with the type of every part made explicit, so that equal shapes
    mean equal values of equal types (``1 == 1.0 == True`` in Python)."""
    if isinstance(value, tuple | list):
        return (type(value).__name__, tuple(_shape(item) for item in value))
    if dataclasses.is_dataclass(value):
        fields = [getattr(value, field.name) for field in dataclasses.fields(value)]
        return (type(value).__name__, _shape(fields))
    return (type(value).__name__, value)


def _typed(value: Any, hint: Any) -> bool:
    """Whether ``value`` is of the annotated type ``hint`` (exactly: no bool
    for an int, no int for a bool)."""
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin is types.UnionType:
        return any(_typed(value, option) for option in arguments)
    if origin is tuple:
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return type(value) is tuple and all(_typed(item, arguments[0]) for item in value)
        return (
            type(value) is tuple
            and len(value) == len(arguments)
            and all(map(_typed, value, arguments))
        )
    if hint is None or hint is type(None):
        return value is None
    if isinstance(hint, type) and (dataclasses.is_dataclass(hint) or issubclass(hint, tuple)):
        hints = typing.get_type_hints(hint)
        return type(value) is hint and all(
            _typed(getattr(value, name), field) for name, field in hints.items()
        )
    return type(value) is hint


def test_one_input(data: bytes) -> None:
    try:
        command, client_order_id, origin = decode_with_origin(data)
    except CodecError:
        return
    assert _typed(command, type(command)), command
    assert type(client_order_id) is str
    assert origin is None or (
        all(type(part) is str for part in origin[:4]) and type(origin.received) is int
    ), origin
    payload = encode(command, client_order_id, origin)
    again = decode_with_origin(payload)
    assert _shape(again) == _shape((command, client_order_id, origin)), (command, again)
    assert encode(*again) == payload


def seeds() -> Iterator[bytes]:
    """Every kind of command, with and without an origin, as the gateway encodes them."""
    commands: list[Command] = [
        NewOrder(1_700_000_000_000_000_000, "ACC1", "AAPL", Side.BUY, OrderType.LIMIT, 100, 19005),
        NewOrder(
            2,
            "ACC2",
            "BRK.A",
            Side.SELL,
            OrderType.STOP_LIMIT,
            1,
            5_000_000,
            TimeInForce.GTD,
            4_990_000,
            0,
            False,
            SelfTradePrevention.CANCEL_INCOMING,
            9_000_000_000,
        ),
        NewOrder(3, "ACC1", "MSFT", Side.BUY, OrderType.MARKET, 10, post_only=True),
        CancelOrder(4, "ACC1", 42),
        ReplaceOrder(5, "ACC1", 42, 19010, 50, 0),
        MassCancel(6, "ACC1", "AAPL", CancelReason.MASS_CANCEL),
        SetTradingPhase(7, "AAPL", TradingPhase.CLOSING_AUCTION),
        AddInstrument(
            8, Instrument("AAPL", 1, 1, 1_000_000, 500, 19000, 1000), TradingPhase.CLOSED
        ),
        AdvanceTime(9),
        FundAccount(10, "ACC1", 100_000_000),
        SetRiskLimits(11, "ACC1", RiskLimits(1000, None, 500, None, 10, 50, True)),
        SetRiskLimits(12, "ACC1", None),
        SetKillSwitch(13, ("ACC1", "ACC2"), True, "runaway algo"),
        ConfigureControls(14, True, 300, 60, ((700, 900), (1300, 1500)), 500),
    ]
    origin = Origin("user-1", "10.0.0.7", "rest")
    for command in commands:
        yield encode(command, "c-1")
        yield encode(command, "", origin)
        yield encode(command, "", origin._replace(received=command.timestamp - 250_000))
    # Written before origins and market order protection existed: still readable.
    yield b'["G","",7,true,300,60,[[700,900]]]'

"""Journal payloads decode to exactly the command that was encoded."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matching import (
    DEFAULT_MARKET_PROTECTION_BPS,
    AddInstrument,
    AdvanceTime,
    CancelOrder,
    CancelReason,
    Command,
    ConfigureControls,
    Instrument,
    MassCancel,
    NewOrder,
    OrderType,
    ReplaceOrder,
    SelfTradePrevention,
    SetTradingPhase,
    Side,
    TimeInForce,
    TradingPhase,
)
from server.bench.workload import generate
from server.codec import CodecError, decode, encode

ints = st.integers(min_value=0, max_value=2**63 - 1)
names = st.text(min_size=1, max_size=12)
new_orders = st.builds(
    NewOrder,
    ints,
    names,
    names,
    st.sampled_from(Side),
    st.sampled_from(OrderType),
    ints,
    ints,
    st.sampled_from(TimeInForce),
    ints,
    ints,
    st.booleans(),
    st.sampled_from(SelfTradePrevention),
    ints,
)
commands = st.one_of(
    new_orders,
    st.builds(CancelOrder, ints, names, ints),
    st.builds(ReplaceOrder, ints, names, ints, ints, ints, ints),
    st.builds(MassCancel, ints, names, st.text(max_size=5), st.sampled_from(CancelReason)),
    st.builds(SetTradingPhase, ints, names, st.sampled_from(TradingPhase)),
    st.builds(
        AddInstrument,
        ints,
        st.builds(Instrument, names, ints, ints, ints, ints, ints),
        st.sampled_from(TradingPhase),
    ),
    st.builds(AdvanceTime, ints),
    st.builds(
        ConfigureControls,
        ints,
        st.booleans(),
        ints,
        ints,
        st.lists(st.tuples(ints, ints), max_size=3).map(tuple),
        ints,
    ),
)


@given(commands)
def test_every_command_round_trips_with_its_enums(command: Command) -> None:
    decoded, client_order_id = decode(encode(command, "cl-1"))
    assert client_order_id == "cl-1"
    assert decoded == command
    assert type(decoded) is type(command)
    assert [type(field) for field in decoded] == [type(field) for field in command]


def test_a_whole_workload_round_trips() -> None:
    workload = generate(2_000, seed=3)
    assert [decode(encode(command))[0] for command in workload] == workload


def test_controls_journaled_before_market_order_protection_get_the_default() -> None:
    payload = b'["G", "", 7, true, 300, 60, [[700, 900]]]'
    assert decode(payload) == (
        ConfigureControls(7, True, 300, 60, ((700, 900),), DEFAULT_MARKET_PROTECTION_BPS),
        "",
    )


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b"[]",
        b'["X", "", 1]',
        b'["C", "", 1]',
        b'["C", 5, 1, "a", 1]',
        b'["N", "", 1, "a", "S", 9, 1, 1]',
        b"{}",
    ],
)
def test_damaged_payloads_are_refused(payload: bytes) -> None:
    with pytest.raises(CodecError):
        decode(payload)

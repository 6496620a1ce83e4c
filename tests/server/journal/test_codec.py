"""Journal payloads decode to exactly the command that was encoded."""

import orjson
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
    RiskLimits,
    SelfTradePrevention,
    SetRiskLimits,
    SetTradingPhase,
    Side,
    TimeInForce,
    TradingPhase,
)
from server.bench.workload import generate
from server.journal.codec import CodecError, Origin, decode, decode_with_origin, encode

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


@pytest.mark.parametrize(
    "payload",
    [
        b'["F","c-1","R","c-1",55000]',  # found by tests/fuzz/fuzz_codec.py
        b'["T","","x"]',
        b'["T","",1.5]',
        b'["T","",18446744073709551616]',  # beyond 64 bits: orjson reads a float
        b'["T","",true]',
        b'["C","",1,"A",null]',
        b'["N","",1,"A","S",1,1,1000,1799500,2,0,0,1,1,0]',  # post_only 1, not false
        b'["N","",1,"A","S",1,1,"1000",1799500,2,0,0,false,1,0]',
        b'["I","",1,["AAPL","1",1,1000,0,0,0],3]',
        b'["L","",1,"A",[1.5,null,null,null,null,null,false]]',
        b'["K","",1,["A",7],true,"why"]',
        b'["G","",7,true,300,60,[[700,"900"]]]',
        b'["C",["c-1",5,"10.0.0.7","rest"],1,"A",2]',
    ],
)
def test_fields_of_the_wrong_json_type_are_refused_not_replayed(payload: bytes) -> None:
    with pytest.raises(CodecError):
        decode(payload)


def test_records_written_before_a_field_existed_still_decode() -> None:
    instrument = b'["I","",1,["AAPL",1],3]'
    assert decode(instrument)[0] == AddInstrument(1, Instrument("AAPL", 1), TradingPhase.CONTINUOUS)
    limits = b'["L","",1,"A",[100]]'
    assert decode(limits)[0] == SetRiskLimits(1, "A", RiskLimits(100))


def test_the_gateways_time_travels_in_the_origin_and_old_records_have_none() -> None:
    command = _new_order()
    plain = Origin("u1", "10.0.0.1", "grpc")
    timed = plain._replace(received=3)  # the command's timestamp is 5
    payload = encode(command, "c1", timed)
    assert orjson.loads(payload)[1] == ["c1", "u1", "10.0.0.1", "grpc", "", 2]
    assert decode_with_origin(payload) == (command, "c1", timed)
    traced = timed._replace(traceparent="00-ab-cd-01")
    assert decode_with_origin(encode(command, "c1", traced)) == (command, "c1", traced)
    # A record written before the time was kept decodes with none (0).
    assert decode_with_origin(encode(command, "c1", plain))[2] == plain
    assert plain.received == 0
    # What it adds: an empty traceparent and the nanoseconds since (not a 19-digit time).
    at_noon = command._replace(timestamp=1_780_000_000_000_000_000)
    waited = encode(at_noon, "c1", plain._replace(received=at_noon.timestamp - 250_000))
    assert len(waited) - len(encode(at_noon, "c1", plain)) == len(',"",250000')


@pytest.mark.parametrize("received", ["4", 4.5, True, None])
def test_a_gateways_time_of_another_type_is_refused(received: object) -> None:
    record = orjson.loads(encode(_new_order(), "c1", Origin("u1", "s", "grpc", "", 3)))
    record[1][5] = received
    with pytest.raises(CodecError):
        decode(orjson.dumps(record))


def _new_order() -> NewOrder:
    return NewOrder(5, "A1", "ACME", Side.BUY, OrderType.LIMIT, 10, 100)

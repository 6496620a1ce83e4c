"""Risk properties over random command streams (hypothesis; issue 8, section 5).

Random accounts with random cash and random limits (their own or the
defaults) send random orders (limit, market, stop, stop-limit, IOC/FOK/GTD,
icebergs, self-trade prevention), cancels and replaces, with funding, limit
changes, kill switches, phase changes and time in between; limits are
enforced, ``Y`` has a volatility band and the circuit breaker is armed.

After every command: the engine's invariants hold (the ledger's reservations
and counts included); no order accepted and no replace done breaks a limit,
judged against the limits and the ledger as they were just before; cash and
positions agree with a model built from the events alone (cash conserved,
positions summing to zero per symbol); average-cost P&L is consistent with the
cash flows; killed accounts hold no open order; no continuous trade prints
outside the volatility band in force. Over the whole stream: a
replay gives the same events and state hash, and so does an engine restored
from a (JSON round-tripped) snapshot taken at a random point.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from typing import NamedTuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import (
    DEFAULT_MARKET_PROTECTION_BPS,
    AccountFunded,
    AdvanceTime,
    AuctionCompleted,
    CancelOrder,
    CancelRejected,
    ConfigureControls,
    Engine,
    Event,
    FundAccount,
    Instrument,
    MassCancel,
    NewOrder,
    OrderAccepted,
    OrderRejected,
    OrderReplaced,
    OrderType,
    RejectReason,
    ReplaceOrder,
    RiskLimits,
    SelfTradePrevention,
    SetKillSwitch,
    SetRiskLimits,
    SetTradingPhase,
    Side,
    TimeInForce,
    Trade,
    TradingPhase,
)
from matching.commands import Command
from matching.snapshot import restore_snapshot, take_snapshot

SECOND = 1_000_000_000
ACCOUNTS = ("a", "b", "c", "d")
SYMBOLS = ("X", "Y")
INSTRUMENTS = (
    Instrument("X", 1, reference_price=100),
    Instrument("Y", 1, reference_price=100, volatility_band_bps=500),
)
CONTROLS = ConfigureControls(
    1, True, 2 * SECOND, SECOND, ((300, 2 * SECOND), (500, 2 * SECOND), (800, 0))
)
"""Limits on; breaker levels low enough for the prices traded to reach them."""
REFUSALS = {
    RejectReason.RISK_MAX_ORDER_QUANTITY: "quantity",
    RejectReason.RISK_MAX_ORDER_NOTIONAL: "notional",
    RejectReason.RISK_PRICE_COLLAR: "collar",
    RejectReason.RISK_BUYING_POWER: "buying power",
    RejectReason.RISK_INSUFFICIENT_POSITION: "short",
    RejectReason.RISK_POSITION_LIMIT: "position",
    RejectReason.RISK_MAX_OPEN_ORDERS: "open orders",
    RejectReason.RISK_MESSAGE_RATE: "message rate",
    RejectReason.KILL_SWITCH_ACTIVE: "kill switch",
}
BAND_BPS = {instrument.symbol: instrument.volatility_band_bps for instrument in INSTRUMENTS}
MARKET_MAKER = RiskLimits(allow_short_selling=True)
BUY = Side.BUY
LIMIT = OrderType.LIMIT
MARKET = OrderType.MARKET
STOP = OrderType.STOP
STOP_LIMIT = OrderType.STOP_LIMIT


def _protected(value: int) -> int:
    """A buy market order's (or stop's) reserve: market order protection's
    default 5% over its value (the instruments' tick is 1)."""
    return value + value * DEFAULT_MARKET_PROTECTION_BPS // 10_000


# -- the stream ----------------------------------------------------------------


class New(NamedTuple):
    account: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: int
    price: int
    tif: TimeInForce
    display: int
    stp: SelfTradePrevention


class Cancel(NamedTuple):
    pick: int


class Replace(NamedTuple):
    pick: int
    price: int
    quantity: int


class Fund(NamedTuple):
    account: str
    amount: int


class Limits(NamedTuple):
    account: str
    limits: RiskLimits | None


class Kill(NamedTuple):
    account: str
    active: bool


class Phase(NamedTuple):
    symbol: str
    phase: TradingPhase


class Mass(NamedTuple):
    account: str


Action = New | Cancel | Replace | Fund | Limits | Kill | Phase | Mass

accounts = st.sampled_from(ACCOUNTS)
prices = st.integers(min_value=92, max_value=108)
quantities = st.sampled_from([1, 2, 3, 5, 8, 10, 13, 20, 25])


def _maybe(*values: int) -> st.SearchStrategy[int | None]:
    """No limit a third of the time, so that orders get through and trade."""
    return st.sampled_from([None, None, *values])


limits_strategy = st.builds(
    RiskLimits,
    max_order_quantity=_maybe(10, 20, 25),
    max_order_notional=_maybe(1_000, 2_000, 2_500),
    price_collar_bps=_maybe(300, 500, 1_000),
    max_position_quantity=_maybe(10, 30, 60, 100),
    max_open_orders=_maybe(2, 4, 8),
    max_messages_per_second=_maybe(3, 5, 10),
    allow_short_selling=st.sampled_from([True, True, False]),
)
own_limits = st.one_of(st.none(), st.none(), limits_strategy)
new_order = st.builds(
    New,
    accounts,
    st.sampled_from(SYMBOLS),
    st.sampled_from(Side),
    st.sampled_from([OrderType.LIMIT] * 5 + [MARKET, STOP, OrderType.STOP_LIMIT]),
    quantities,
    prices,
    st.sampled_from([TimeInForce.DAY] * 3 + list(TimeInForce)),
    st.sampled_from([0, 0, 0, 4]),
    st.sampled_from(
        [SelfTradePrevention.NONE, SelfTradePrevention.DECREMENT, *SelfTradePrevention]
    ),
)
picks = st.integers(min_value=0, max_value=99)
rare: st.SearchStrategy[Action] = st.one_of(
    st.builds(Fund, accounts, st.integers(min_value=-5_000, max_value=20_000)),
    st.builds(Limits, accounts, own_limits),
    st.builds(Kill, accounts, st.sampled_from([True, False, False])),
    st.builds(Phase, st.sampled_from(SYMBOLS), st.sampled_from(TradingPhase)),
    st.builds(Phase, st.sampled_from(SYMBOLS), st.just(TradingPhase.CONTINUOUS)),
    st.builds(Mass, accounts),
)
# Mostly orders, so that books fill and trade; a rare action one time in ten.
action: st.SearchStrategy[Action] = st.sampled_from(range(20)).flatmap(
    lambda roll: (
        new_order
        if roll < 13
        else st.builds(Cancel, picks)
        if roll < 15
        else st.builds(Replace, picks, prices, quantities)
        if roll < 18
        else rare
    )
)
steps = st.lists(
    st.tuples(st.sampled_from([1, 1_000, 1, 300_000_000, SECOND, 3 * SECOND]), action),
    min_size=20,
    max_size=80,
)
setup = st.tuples(
    limits_strategy,
    st.lists(
        # Some accounts can pay for a few shares at the reference price only, so
        # buying power binds.
        st.tuples(st.sampled_from([20_000, 0, 5_000, 60_000, 800, 1_000, 2_000]), own_limits),
        min_size=len(ACCOUNTS),
        max_size=len(ACCOUNTS),
    ),
)


class Issued(NamedTuple):
    order_id: int
    account: str
    order_type: OrderType


def _command(step: Action, now: int, issued: list[Issued], engine: Engine) -> Command:
    if isinstance(step, New):
        priced = step.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        stop = step.order_type in (STOP, OrderType.STOP_LIMIT)
        return NewOrder(
            now,
            step.account,
            step.symbol,
            step.side,
            step.order_type,
            step.quantity,
            step.price if priced else 0,
            step.tif,
            step.price if stop else 0,
            step.display if step.order_type is OrderType.LIMIT else 0,
            False,
            step.stp,
            now + 2 * SECOND if step.tif is TimeInForce.GTD else 0,
        )
    if isinstance(step, Cancel | Replace) and issued:
        # Mostly an order still open; sometimes any order ever accepted.
        live = [o for o in issued if o.order_id in engine.orders or o.order_id in engine.stops]
        pool = live if live and step.pick < 90 else issued
        order = pool[step.pick % len(pool)]
        if isinstance(step, Cancel):
            return CancelOrder(now, order.account, order.order_id)
        if order.order_type is STOP:
            return ReplaceOrder(now, order.account, order.order_id, 0, step.quantity, step.price)
        trigger = step.price if order.order_type is OrderType.STOP_LIMIT else 0
        return ReplaceOrder(now, order.account, order.order_id, step.price, step.quantity, trigger)
    if isinstance(step, Fund):
        return FundAccount(now, step.account, step.amount)
    if isinstance(step, Limits):
        return SetRiskLimits(now, step.account, step.limits)
    if isinstance(step, Kill):
        return SetKillSwitch(now, (step.account,), step.active, "property")
    if isinstance(step, Phase):
        return SetTradingPhase(now, step.symbol, step.phase)
    if isinstance(step, Mass):
        return MassCancel(now, step.account)
    return AdvanceTime(now)


# -- the limits, judged from the state before the command ----------------------


class Before(NamedTuple):
    """An account's ledger in one symbol just before a command."""

    limits: RiskLimits
    killed: bool
    messages: int
    cash: int
    reserved: int
    open_orders: int
    held: int
    open_buy: int
    open_sell: int
    reference: int


def _before(engine: Engine, account: str, symbol: str, now: int) -> Before:
    risk = engine.risk
    book = engine.books[symbol]
    reference = book.last_trade_price or book.instrument.reference_price
    ledger = risk.accounts.get(account)
    if ledger is None:
        return Before(risk.default_limits, False, 0, 0, 0, 0, 0, 0, 0, reference)
    holding = ledger.holdings.get(symbol)
    held = open_buy = open_sell = 0
    if holding is not None:
        held, open_buy, open_sell = holding.quantity, holding.open_buy, holding.open_sell
    return Before(
        risk.limits_of(ledger),
        ledger.killed,
        ledger.messages_in_second(now),
        ledger.cash,
        ledger.reserved,
        ledger.open_orders,
        held,
        open_buy,
        open_sell,
        reference,
    )


def _over(cap: int | None, amount: int) -> bool:
    return cap is not None and amount > cap


def _position_over(limits: RiskLimits, worst: int, change: int) -> bool:
    """Over the position limit, unless it only brings ``worst`` closer to flat."""
    after = worst + change
    reduces = 0 <= after < worst or worst < after <= 0
    return _over(limits.max_position_quantity, abs(after)) and not reduces


def _order_breaches(state: Before, quantity: int, value: int, price: int) -> list[str]:
    """Limits of a single order (rate, size, notional, collar); ``value`` per share."""
    limits = state.limits
    found = []
    if state.killed:
        found.append("kill switch")
    if _over(limits.max_messages_per_second, state.messages + 1):
        found.append("message rate")
    if _over(limits.max_order_quantity, quantity):
        found.append("quantity")
    if _over(limits.max_order_notional, value * quantity):
        found.append("notional")
    collar = limits.price_collar_bps
    reference = state.reference
    if (
        collar is not None
        and price
        and reference
        and abs(price - reference) * 10_000 > reference * collar
    ):
        found.append("collar")
    return found


def _new_order_breaches(state: Before, command: NewOrder) -> list[str]:
    limits = state.limits
    quantity = command.quantity
    if command.order_type is MARKET:
        value = state.reference
    elif command.order_type is STOP:
        value = command.stop_price
    else:
        value = command.price
    found = _order_breaches(state, quantity, value, command.price)
    if _over(limits.max_open_orders, state.open_orders + 1):
        found.append("open orders")
    if command.side is BUY:
        if _position_over(limits, state.held + state.open_buy, quantity):
            found.append("position")
        reserve = value if command.order_type in (LIMIT, STOP_LIMIT) else _protected(value)
        if not value or reserve * quantity > state.cash - state.reserved:
            found.append("buying power")
    else:
        if _position_over(limits, state.held - state.open_sell, -quantity):
            found.append("position")
        if not limits.allow_short_selling and state.held - state.open_sell < quantity:
            found.append("short")
    return found


class Target(NamedTuple):
    """The order a replace names, as it was before the command."""

    symbol: str
    side: Side
    leaves: int
    filled: int
    value: int
    """What the replaced order is worth per share: its new limit price; a
    waiting stop's new stop price."""
    reserve: int
    stop: bool
    """A stop without a limit price: it reserves its protection price."""


def _target(engine: Engine, command: ReplaceOrder) -> Target | None:
    order = engine.orders.get(command.order_id)
    if order is not None:
        reserve = order.reserve
        level = order.level
        filled = order.quantity - order.remaining
        symbol = level.book.symbol
        return Target(symbol, level.side, order.remaining, filled, command.price, reserve, False)
    stop = engine.stops.get(command.order_id)
    if stop is None:
        return None
    market = stop.order_type is STOP
    value = command.stop_price or stop.stop_price if market else command.price
    return Target(stop.symbol, stop.side, stop.quantity, 0, value, stop.reserve, market)


def _replace_breaches(state: Before, target: Target, command: ReplaceOrder) -> list[str]:
    limits = state.limits
    value = target.value
    found = _order_breaches(state, command.quantity, value, command.price)
    new_leaves = command.quantity - target.filled
    delta = new_leaves - target.leaves
    if target.side is BUY:
        if _position_over(limits, state.held + state.open_buy, delta):
            found.append("position")
        reserve = _protected(value) if target.stop else value
        if reserve * new_leaves - target.reserve * target.leaves > state.cash - state.reserved:
            found.append("buying power")
    else:
        if _position_over(limits, state.held - state.open_sell, -delta):
            found.append("position")
        if not limits.allow_short_selling and delta > state.held - state.open_sell:
            found.append("short")
    return found


# -- the model of cash and positions -------------------------------------------


class Model:
    def __init__(self) -> None:
        self.funded = 0
        self.cash: dict[str, int] = defaultdict(int)
        self.position: dict[tuple[str, str], int] = defaultdict(int)
        self.flow: dict[tuple[str, str], int] = defaultdict(int)
        """Cash paid (negative) and received per account and symbol."""

    def follow(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, AccountFunded):
                self.funded += event.amount
                self.cash[event.account] += event.amount
            elif isinstance(event, Trade):
                value = event.price * event.quantity
                buyer = (event.buy_account, event.symbol)
                seller = (event.sell_account, event.symbol)
                self.cash[event.buy_account] -= value
                self.cash[event.sell_account] += value
                self.position[buyer] += event.quantity
                self.position[seller] -= event.quantity
                self.flow[buyer] -= value
                self.flow[seller] += value

    def check(self, engine: Engine) -> None:
        accounts = engine.risk.accounts
        assert sum(ledger.cash for ledger in accounts.values()) == self.funded
        for name, cash in self.cash.items():
            assert accounts[name].cash == cash, name
        for symbol in SYMBOLS:
            total = 0
            for name, ledger in accounts.items():
                holding = ledger.holdings.get(symbol)
                quantity = holding.quantity if holding is not None else 0
                assert quantity == self.position.get((name, symbol), 0), (name, symbol)
                total += quantity
                if holding is not None:
                    # Average cost: what was realized minus what the open
                    # position cost is exactly the cash it moved.
                    flow = self.flow.get((name, symbol), 0)
                    assert holding.realized - holding.cost == flow, (name, symbol)
            assert total == 0, symbol
        for name, ledger in accounts.items():
            if ledger.killed:
                assert ledger.open_orders == 0, name
            # Limits are enforced throughout: no fill ever takes more cash than
            # the buying power check let the order reserve.
            assert ledger.cash >= ledger.reserved >= 0, (name, ledger.cash, ledger.reserved)


# -- the volatility band ------------------------------------------------------


def _bands(engine: Engine) -> dict[str, tuple[int, int]]:
    return {symbol: (book.band_low, book.band_high) for symbol, book in engine.books.items()}


def _check_bands(bands: dict[str, tuple[int, int]], events: list[Event]) -> None:
    """No continuous trade prints outside the band in force; each auction
    re-centres the band on its price."""
    for event in events:
        if isinstance(event, AuctionCompleted):
            width = event.price * BAND_BPS[event.symbol] // 10_000
            if width:
                bands[event.symbol] = (max(event.price - width, 1), event.price + width)
        elif isinstance(event, Trade) and event.aggressor_side is not None:
            low, high = bands[event.symbol]
            if high:
                assert low <= event.price <= high, (event, low, high)


# -- the run -------------------------------------------------------------------


def _run(
    defaults: RiskLimits,
    accounts_setup: list[tuple[int, RiskLimits | None]],
    stream: list[tuple[int, Action]],
    split: int,
) -> tuple[list[Command], list[list[Event]], Engine, tuple[int, Engine]]:
    engine = Engine(INSTRUMENTS)
    model = Model()
    commands: list[Command] = [CONTROLS, SetRiskLimits(1, "", defaults)]
    for account, (cash, limits) in zip(ACCOUNTS, accounts_setup, strict=True):
        if cash:
            commands.append(FundAccount(1, account, cash))
        if limits is not None:
            commands.append(SetRiskLimits(1, account, limits))
    # A market maker quotes both instruments, so random orders find liquidity
    # (and random sellers positions to sell).
    commands += [FundAccount(1, "mm", 100_000), SetRiskLimits(1, "mm", MARKET_MAKER)]
    # Y's band is [95, 105]: its outer quotes are beyond it.
    for symbol in SYMBOLS:
        for tick in (1, 2, 3, 7, 8):
            commands.append(NewOrder(1, "mm", symbol, BUY, LIMIT, 8, 100 - tick))
            commands.append(NewOrder(1, "mm", symbol, Side.SELL, LIMIT, 8, 100 + tick))
    outputs: list[list[Event]] = []
    for command in commands:
        outputs.append(engine.process(command))
        model.follow(outputs[-1])
    issued: list[Issued] = []
    restored: tuple[int, Engine] | None = None
    split %= len(stream)
    now = 1
    for index, (dt, step) in enumerate(stream):
        now += dt
        # Time first, so the state read below is the one the checks see.
        passing = AdvanceTime(now)
        commands.append(passing)
        bands = _bands(engine)
        outputs.append(engine.process(passing))
        _check_bands(bands, outputs[-1])
        model.follow(outputs[-1])
        engine.check_invariants()

        command = _command(step, now, issued, engine)
        judged: list[str] = []
        if isinstance(command, NewOrder):
            state = _before(engine, command.account, command.symbol, now)
            judged = _new_order_breaches(state, command)
        elif isinstance(command, ReplaceOrder):
            target = _target(engine, command)
            if target is not None:
                state = _before(engine, command.account, target.symbol, now)
                judged = _replace_breaches(state, target, command)
        bands = _bands(engine)
        events = engine.process(command)
        _check_bands(bands, events)
        engine.check_invariants()
        commands.append(command)
        outputs.append(events)
        model.follow(events)
        model.check(engine)

        accepted = [e for e in events if isinstance(e, OrderAccepted)]
        if isinstance(command, NewOrder):
            assert len(accepted) <= 1
            if accepted:
                assert accepted[0].account == command.account
                assert judged == [], (command, judged)
        else:
            assert not accepted
        if isinstance(command, ReplaceOrder) and any(
            isinstance(e, OrderReplaced) and e.order_id == command.order_id for e in events
        ):
            assert judged == [], (command, judged)
        # And the other way round: a risk refusal names a limit that was broken.
        for event in events:
            if isinstance(event, OrderRejected | CancelRejected) and event.reason in REFUSALS:
                assert REFUSALS[event.reason] in judged, (command, event, judged)
                assert event.text
        issued.extend(Issued(e.order_id, e.account, e.order_type) for e in accepted)

        if index == split:
            snapshot = json.loads(json.dumps(take_snapshot(engine)))
            copy = restore_snapshot(snapshot)
            copy.check_invariants()
            assert copy.state_hash() == engine.state_hash()
            restored = (len(commands), copy)
    assert restored is not None
    return commands, outputs, engine, restored


@settings(
    max_examples=int(os.environ.get("STX_RISK_PROPERTY_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(setup, steps, st.integers(min_value=0, max_value=200))
def test_random_streams_keep_every_risk_property(
    start: tuple[RiskLimits, list[tuple[int, RiskLimits | None]]],
    stream: list[tuple[int, Action]],
    split: int,
) -> None:
    defaults, accounts_setup = start
    commands, outputs, engine, (resume, copy) = _run(defaults, accounts_setup, stream, split)
    # The restored engine continues exactly as the original did.
    assert [copy.process(command) for command in commands[resume:]] == outputs[resume:]
    assert copy.state_hash() == engine.state_hash()
    # A replay from scratch gives the same events and state.
    replay = Engine(INSTRUMENTS)
    assert [replay.process(command) for command in commands] == outputs
    assert replay.state_hash() == engine.state_hash()

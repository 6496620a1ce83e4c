"""The surveillance thresholds, with defaults meant for a lit equity market.

Times are integer nanoseconds like everywhere inside; quantities whole
shares; ratios and multiples whole numbers. The defaults are deliberately
conservative (an alert is a person's time): each one is explained where it
is declared, and ``server/consumers/surveillance/detectors.py`` describes the rules.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from server.model.alerts import AlertKind

SECOND = 1_000_000_000

AUTOMATIC = frozenset(
    {
        AlertKind.SPOOFING,
        AlertKind.LAYERING,
        AlertKind.WASH_TRADE,
        AlertKind.ORDER_TO_TRADE_RATIO,
        AlertKind.ABNORMAL_PRICE_MOVE,
    }
)
"""Every kind a detector raises (``MANUAL`` comes from people)."""


@dataclass(frozen=True, slots=True)
class SurveillanceConfig:
    enabled: frozenset[AlertKind] = AUTOMATIC
    """The detectors that run; the others cost nothing."""

    # -- spoofing -------------------------------------------------------------
    spoof_size_multiple: int = 5
    """An order is large at this many times the symbol's typical visible size..."""
    spoof_min_quantity: int = 50_000
    """...or at this many shares whatever the typical size: large in any stock,
    and the rule that applies before the typical size is known."""
    spoof_typical_samples: int = 20
    """Orders a symbol must have seen before its typical size is trusted."""
    spoof_near_touch_ticks: int = 2
    """"Near the touch": at most this many ticks behind the best price on the
    order's side once it rests (0 = at or improving the touch)."""
    spoof_max_lifetime_ns: int = 5 * SECOND
    """Cancelled within this long of entry, without a fill, it counts."""
    spoof_min_count: int = 3
    """This many such orders by one account in one symbol..."""
    spoof_window_ns: int = 60 * SECOND
    """...entered within this long raise one alert."""

    # -- layering -------------------------------------------------------------
    layering_min_levels: int = 3
    """Open orders at this many distinct prices on one side make layers."""
    layering_min_imbalance: int = 4
    """The layers must total this many times the account's own quantity on the
    side it trades: a market maker quoting several levels on both sides is
    balanced and is not layering."""
    layering_order_window_ns: int = 30 * SECOND
    """Only orders entered within this long before the trade count as layers."""
    layering_cancel_within_ns: int = 10 * SECOND
    """The layers must be cancelled (at least ``layering_min_levels`` prices of
    them) within this long of the account's trade on the other side."""

    # -- order-to-trade ratio ---------------------------------------------------
    ratio_window_ns: int = 60 * SECOND
    """Each account's orders and trades are counted over windows this long,
    starting at its first order or trade; one alert at most per window."""
    ratio_threshold: int = 50
    """Alert when orders entered (new and replaced) reach this many per trade..."""
    ratio_min_orders: int = 100
    """...and the window saw at least this many orders (a few unfilled orders
    are no pattern)."""

    # -- abnormal price move ----------------------------------------------------
    price_move_window_ns: int = 300 * SECOND
    """The trade price is compared with the price this long ago; one alert at
    most per symbol per window."""
    price_move_threshold_bps: int = 500
    """Alert when it moved more than this many basis points (5%)."""
    price_move_resolution_ns: int = SECOND
    """Trade prices are kept per slot of this length, which bounds memory to
    window / resolution slots per symbol and the start price's error to one slot."""

    # -- wash trades, evidence, instruments -------------------------------------
    max_evidence_ids: int = 100
    """At most this many order (and trade) ids in one alert's evidence."""
    default_tick_size: int = 100
    """The tick size of a symbol neither ``tick_size_of`` nor an
    ``AddInstrument`` command told about (0.01, the usual equity tick)."""

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, int) and value < 0:
                raise ValueError(f"surveillance setting {field.name} must not be negative")
        for name in (
            "spoof_size_multiple",
            "spoof_min_quantity",
            "spoof_max_lifetime_ns",
            "spoof_min_count",
            "spoof_window_ns",
            "layering_min_levels",
            "layering_order_window_ns",
            "ratio_window_ns",
            "ratio_threshold",
            "price_move_window_ns",
            "price_move_resolution_ns",
            "max_evidence_ids",
            "default_tick_size",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"surveillance setting {name} must be positive")
        unknown = set(self.enabled) - AUTOMATIC
        if unknown:
            raise ValueError(f"no detector raises {sorted(kind.name for kind in unknown)}")

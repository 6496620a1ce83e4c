"""Reference data of one tradable instrument.

Prices are integers in the contract's fixed-point unit (1 = 0.0001 of the
currency); quantities are whole shares. The engine never sees a float.
"""

from dataclasses import dataclass
from typing import Final

from matching.enums import RejectReason

BASIS_POINTS: Final = 10_000


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str
    tick_size: int
    lot_size: int = 1
    max_order_quantity: int = 1_000_000_000
    price_band_bps: int = 0
    """Limit prices further than this from the reference price are rejected.

    0 disables the band. The reference is the last trade price, else
    ``reference_price`` (the previous close).
    """
    reference_price: int = 0
    volatility_band_bps: int = 0
    """A trade that would print further than this from the band's reference
    (the previous close, then each auction's price) pauses trading in the
    instrument; it reopens with a call auction. 0 disables it."""

    def validation_error(self) -> RejectReason | None:
        """The reason this definition cannot be traded, or None if it is sound."""
        if not self.symbol or not self.symbol.isprintable() or " " in self.symbol:
            return RejectReason.INVALID_INSTRUMENT
        if self.tick_size <= 0 or self.lot_size <= 0 or self.max_order_quantity <= 0:
            return RejectReason.INVALID_INSTRUMENT
        if self.price_band_bps < 0 or self.reference_price < 0 or self.volatility_band_bps < 0:
            return RejectReason.INVALID_INSTRUMENT
        if self.reference_price % self.tick_size:
            return RejectReason.INVALID_INSTRUMENT
        return None

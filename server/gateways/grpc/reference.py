"""The reference data service: instruments and their trading phases.

Phase changes are engine commands like any other (journaled, sequenced), so
an uncross at the open replays exactly.
"""

from __future__ import annotations

from stocktraderx.v1 import reference_data_pb2 as pb
from stocktraderx.v1 import reference_data_pb2_grpc

from matching import CommandRejected, RejectReason, SetTradingPhase, TradingPhase
from matching.book import OrderBook
from server.errors import abort, invalid_argument, rejection
from server.gateways.grpc.calls import Context, committed, describe, origin_of, page_size
from server.model.view import CoreView


def instrument_message(book: OrderBook) -> pb.Instrument:
    instrument = book.instrument
    return pb.Instrument(
        symbol=instrument.symbol,
        currency="USD",
        tick_size=instrument.tick_size,
        lot_size=instrument.lot_size,
        max_order_quantity=instrument.max_order_quantity,
        price_band_bps=instrument.price_band_bps,
        reference_price=book.reference_price,
        trading_phase=int(book.phase),  # type: ignore[arg-type]
    )


class ReferenceDataService(reference_data_pb2_grpc.ReferenceDataServiceServicer):
    def __init__(self, core: CoreView) -> None:
        self._core = core

    async def ListInstruments(  # noqa: N802 - the contract's name
        self, request: pb.ListInstrumentsRequest, context: Context
    ) -> pb.ListInstrumentsResponse:
        size = await page_size(request.page_size, context)
        symbols = sorted(self._core.engine.books)
        start = 0
        if request.page_token:
            if request.page_token not in self._core.engine.books:
                await abort(context, invalid_argument("page_token", "page_token is not ours"))
            start = symbols.index(request.page_token) + 1
        page = symbols[start : start + size]
        more = start + size < len(symbols)
        return pb.ListInstrumentsResponse(
            instruments=[instrument_message(self._core.engine.books[s]) for s in page],
            next_page_token=page[-1] if more and page else "",
        )

    async def GetInstrument(  # noqa: N802
        self, request: pb.GetInstrumentRequest, context: Context
    ) -> pb.GetInstrumentResponse:
        book = self._core.engine.books.get(request.symbol)
        if book is None:
            await abort(
                context,
                rejection(RejectReason.UNKNOWN_SYMBOL, f"no instrument {request.symbol!r}"),
            )
        return pb.GetInstrumentResponse(instrument=instrument_message(book))

    async def SetTradingPhase(  # noqa: N802
        self, request: pb.SetTradingPhaseRequest, context: Context
    ) -> pb.SetTradingPhaseResponse:
        try:
            phase = TradingPhase(request.trading_phase)
        except ValueError:
            await abort(context, invalid_argument("trading_phase", "trading_phase is required"))
        sequencer = self._core.sequencer
        applied = sequencer.submit(
            SetTradingPhase(sequencer.now(), request.symbol, phase), origin=origin_of(context)
        )
        await committed(sequencer, context, applied)
        for event in applied.events:
            if isinstance(event, CommandRejected):
                await abort(
                    context, rejection(event.reason, describe(event.reason, request.symbol))
                )
        book = self._core.engine.books[request.symbol]
        return pb.SetTradingPhaseResponse(instrument=instrument_message(book))

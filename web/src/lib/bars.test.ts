import { candleOf, withTrade } from "./bars";

describe("candles", () => {
  it("reads a bar and grows the live candle from trades", () => {
    const bar = candleOf({
      start_time: "2026-12-07T12:00:00Z",
      open_price: "190.0000",
      high_price: "190.5000",
      low_price: "189.9000",
      close_price: "190.1000",
      volume: "300",
    });
    expect(bar).toMatchObject({ time: 1_796_644_800, high: 1_905_000n, volume: 300n });
    const grown = withTrade(bar, { price: "190.7000", quantity: "50", trade_time: "2026-12-07T12:00:30Z" }, 60);
    expect(grown).toMatchObject({ time: bar!.time, open: 1_900_000n, high: 1_907_000n, close: 1_907_000n, volume: 350n });
    const next = withTrade(grown, { price: "189.0000", quantity: "10", trade_time: "2026-12-07T12:01:00Z" }, 60);
    expect(next).toMatchObject({ time: bar!.time + 60, open: 1_890_000n, low: 1_890_000n, volume: 10n });
    expect(withTrade(next, { price: "1", quantity: "1", trade_time: "2026-12-07T11:00:00Z" }, 60)).toBe(next);
  });
});

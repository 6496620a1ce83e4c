import type { OrderEvent } from "../api/types";
import { activityOf, entryRate, movers, orderEntrySeries, summed, utcDay } from "./dashboard";

describe("movers", () => {
  it("ranks by the size of the move against the reference price, the day's open when there is none", () => {
    const rows = movers(
      [
        { symbol: "AAPL", close_price: "191.9000", open_price: "189.0000", volume: "500", trade_count: "5" },
        { symbol: "F", close_price: "11.4000", open_price: "12.1000", volume: "9000", trade_count: "30" },
        { symbol: "MSFT", close_price: "400.0000", open_price: "400.0000", volume: "10", trade_count: "1" },
      ],
      [
        { symbol: "AAPL", reference_price: "190.0000" },
        { symbol: "F", reference_price: "" },
      ],
    );
    expect(rows.map((row) => row.symbol)).toEqual(["F", "AAPL", "MSFT"]);
    // F: 11.40 against its open 12.10 is -5.78%; AAPL: 191.90 against 190.00 is +1.00%.
    expect(rows[0]).toMatchObject({ reference: "12.1000", changeUnits: -7000n, bps: -578n, volume: 9000n, trades: 30n });
    expect(rows[1]).toMatchObject({ reference: "190.0000", changeUnits: 19000n, bps: 100n });
    expect(rows[2]?.bps).toBe(0n);
  });
});

describe("series", () => {
  it("turns bars into volume and trade counts per bar, oldest first", () => {
    const series = activityOf([
      { start_time: "2026-12-07T14:01:00Z", volume: "300", trade_count: "3" },
      { start_time: "2026-12-07T14:00:00Z", volume: "100", trade_count: "1" },
      { volume: "1", trade_count: "1" },
    ]);
    const minute = Date.parse("2026-12-07T14:00:00Z") / 1000;
    expect(series.volume).toEqual([{ time: minute, value: 100 }, { time: minute + 60, value: 300 }]);
    expect(series.trades).toEqual([{ time: minute, value: 1 }, { time: minute + 60, value: 3 }]);
  });

  it("adds series up point by point", () => {
    expect(summed([[{ time: 60, value: 2 }, { time: 120, value: 1 }], [{ time: 0, value: 5 }, { time: 60, value: 3 }]])).toEqual([
      { time: 0, value: 5 },
      { time: 60, value: 5 },
      { time: 120, value: 1 },
    ]);
  });

  it("counts order entries (accepted or refused) per bucket, not fills or cancels", () => {
    const event = (exec_type: OrderEvent["exec_type"], event_time: string): OrderEvent => ({ exec_type, event_time });
    const rate = entryRate(
      [
        event("EXEC_TYPE_NEW", "2026-12-07T14:00:01.5Z"),
        event("EXEC_TYPE_FILL", "2026-12-07T14:00:02Z"),
        event("EXEC_TYPE_REJECTED", "2026-12-07T14:00:59.999Z"),
        event("EXEC_TYPE_CANCELED", "2026-12-07T14:01:00Z"),
        event("EXEC_TYPE_NEW", "2026-12-07T14:01:00Z"),
      ],
      60,
    );
    const minute = Date.parse("2026-12-07T14:00:00Z") / 1000;
    expect(rate).toEqual([{ time: minute, value: 2 }, { time: minute + 60, value: 1 }]);
  });

  it("names the UTC day", () => {
    expect(utcDay(new Date("2026-12-07T23:59:59-05:00"))).toBe("2026-12-08");
  });
});

describe("orderEntrySeries", () => {
  it("charts each interval at its end, oldest first; latency only where orders were acknowledged", () => {
    const series = orderEntrySeries([
      { start_time: "2026-12-07T16:00:05Z", end_time: "2026-12-07T16:00:10Z", acknowledged_count: "12", p50_latency_micros: "310", p99_latency_micros: "2400" },
      { start_time: "2026-12-07T16:00:00Z", end_time: "2026-12-07T16:00:05Z" },
    ]);
    const at = Date.parse("2026-12-07T16:00:05Z") / 1000;
    expect(series.throughput).toEqual([{ time: at, value: 0 }, { time: at + 5, value: 12 }]);
    expect(series.p50).toEqual([{ time: at + 5, value: 310 }]);
    expect(series.p99).toEqual([{ time: at + 5, value: 2400 }]);
  });
});

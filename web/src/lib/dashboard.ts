/**
 * The dashboards' arithmetic, kept apart from drawing: the day's movers from
 * the market statistics, per-minute series from the bars of many symbols, and
 * the order-entry rate from the order-event audit trail, and the gateway's
 * order-entry throughput and latency per interval. Prices stay in units
 * (bigint); only the series handed to the charts are numbers.
 */
import type { Bar, Instrument, MarketStatistics, OrderEntryInterval, OrderEvent } from "../api/types";
import { change, integer, units } from "./decimal";

export interface Mover {
  symbol: string;
  close: string;
  /** What the close is compared with: the instrument's reference price (the previous close), else the day's open. */
  reference: string;
  changeUnits: bigint;
  bps: bigint;
  volume: bigint;
  trades: bigint;
  notional: string;
  vwap: string;
}

/** Every symbol that traded, the largest move (either way) first; ties by volume. */
export function movers(statistics: readonly MarketStatistics[], instruments: readonly Instrument[]): Mover[] {
  const references = new Map(instruments.map((instrument) => [instrument.symbol ?? "", instrument.reference_price ?? ""]));
  const rows = statistics.map((row): Mover => {
    const symbol = row.symbol ?? "";
    const known = references.get(symbol) ?? "";
    const reference = units(known) > 0n ? known : (row.open_price ?? "");
    const moved = change(units(row.close_price), units(reference));
    return {
      symbol,
      close: row.close_price ?? "",
      reference,
      changeUnits: moved.units,
      bps: moved.bps,
      volume: integer(row.volume),
      trades: integer(row.trade_count),
      notional: row.notional ?? "",
      vwap: row.vwap ?? "",
    };
  });
  const magnitude = (bps: bigint) => (bps < 0n ? -bps : bps);
  return rows.sort((a, b) => {
    const byMove = magnitude(b.bps) - magnitude(a.bps);
    if (byMove !== 0n) return byMove > 0n ? 1 : -1;
    return b.volume > a.volume ? 1 : b.volume < a.volume ? -1 : a.symbol.localeCompare(b.symbol);
  });
}

/** One point of a chart: seconds since the epoch and a value. */
export interface Point {
  time: number;
  value: number;
}

/** A symbol's bars as two series: shares traded and trades per bar, oldest first. */
export function activityOf(bars: readonly Bar[]): { volume: Point[]; trades: Point[] } {
  const rows = bars
    .map((bar) => ({ time: Math.floor(Date.parse(bar.start_time ?? "") / 1000), volume: integer(bar.volume), trades: integer(bar.trade_count) }))
    .filter((row) => !Number.isNaN(row.time))
    .sort((a, b) => a.time - b.time);
  return {
    volume: rows.map((row) => ({ time: row.time, value: Number(row.volume) })),
    trades: rows.map((row) => ({ time: row.time, value: Number(row.trades) })),
  };
}

/** Several series added up point by point (the market's trades per minute from each symbol's). */
export function summed(series: readonly (readonly Point[])[]): Point[] {
  const totals = new Map<number, number>();
  for (const points of series) for (const point of points) totals.set(point.time, (totals.get(point.time) ?? 0) + point.value);
  return [...totals.entries()].sort((a, b) => a[0] - b[0]).map(([time, value]) => ({ time, value }));
}

/** Events that are order entries: a new order accepted or refused by the engine. */
const ENTRIES = new Set<OrderEvent["exec_type"]>(["EXEC_TYPE_NEW", "EXEC_TYPE_REJECTED"]);

/** Orders entered per `seconds` bucket, counted from the audit trail's events, oldest first. */
export function entryRate(events: readonly OrderEvent[], seconds: number): Point[] {
  const counts = new Map<number, number>();
  for (const event of events) {
    if (!ENTRIES.has(event.exec_type)) continue;
    const at = Date.parse(event.event_time ?? "");
    if (Number.isNaN(at)) continue;
    const bucket = Math.floor(at / 1000 / seconds) * seconds;
    counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([time, value]) => ({ time, value }));
}

/** The gateway's order-entry intervals (GET /order-entry/statistics) as
 * charts' series at each interval's end: acknowledgements per interval, and
 * the p50 and p99 latency in microseconds (for intervals that had any). */
export function orderEntrySeries(intervals: readonly OrderEntryInterval[]): { throughput: Point[]; p50: Point[]; p99: Point[] } {
  const rows = intervals
    .map((entry) => ({
      time: Math.floor(Date.parse(entry.end_time ?? "") / 1000),
      count: Number(entry.acknowledged_count ?? "0"),
      p50: Number(entry.p50_latency_micros ?? "0"),
      p99: Number(entry.p99_latency_micros ?? "0"),
    }))
    .filter((row) => !Number.isNaN(row.time))
    .sort((a, b) => a.time - b.time);
  const busy = rows.filter((row) => row.count > 0);
  return {
    throughput: rows.map((row) => ({ time: row.time, value: row.count })),
    p50: busy.map((row) => ({ time: row.time, value: row.p50 })),
    p99: busy.map((row) => ({ time: row.time, value: row.p99 })),
  };
}

/** Today's UTC day as the analytics routes want it (`YYYY-MM-DD`). */
export function utcDay(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

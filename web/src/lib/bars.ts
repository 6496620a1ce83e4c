/**
 * Candles for the chart: the exchange's bars (GET /market-data/historical),
 * then the live one grown from each trade of /ws. Kept in units and shares;
 * turned into numbers only for drawing (chartBar), never for arithmetic.
 */
import type { Bar, Trade } from "../api/types";
import { integer, units } from "./decimal";

export interface Candle {
  /** Seconds since the epoch at the bar's start. */
  time: number;
  open: bigint;
  high: bigint;
  low: bigint;
  close: bigint;
  volume: bigint;
}

export function candleOf(bar: Bar): Candle | null {
  const start = Date.parse(bar.start_time ?? "");
  if (Number.isNaN(start) || units(bar.open_price) === 0n) return null;
  return {
    time: Math.floor(start / 1000),
    open: units(bar.open_price),
    high: units(bar.high_price),
    low: units(bar.low_price),
    close: units(bar.close_price),
    volume: integer(bar.volume),
  };
}

/** The candle `last` becomes with `trade` in bars of `seconds`: the same bar grown, or a new one. */
export function withTrade(last: Candle | null, trade: Trade, seconds: number): Candle | null {
  const at = Date.parse(trade.trade_time ?? "");
  const price = units(trade.price);
  if (Number.isNaN(at) || price === 0n) return last;
  const time = Math.floor(at / 1000 / seconds) * seconds;
  const quantity = integer(trade.quantity);
  if (last === null || time > last.time) {
    return { time, open: price, high: price, low: price, close: price, volume: quantity };
  }
  if (time < last.time) return last;
  return {
    ...last,
    high: price > last.high ? price : last.high,
    low: price < last.low ? price : last.low,
    close: price,
    volume: last.volume + quantity,
  };
}

/** Units of 0.0001 as a number, for drawing only. */
export function drawn(value: bigint): number {
  return Number(value) / 10_000;
}

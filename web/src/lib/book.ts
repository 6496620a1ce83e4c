/**
 * A depth ladder kept from L2 messages: a snapshot replaces it, an update
 * adds, changes or deletes levels. Prices are keyed by their units (bigint
 * as string) so that "190.05" and "190.0500" are one level.
 */
import type { DepthSnapshot, DepthUpdate, PriceLevel } from "../api/types";
import { integer, units } from "./decimal";

export interface Level {
  price: bigint;
  quantity: bigint;
  orders: number;
}

export interface Book {
  bids: Level[];
  asks: Level[];
  channelSequence: bigint;
}

export const EMPTY_BOOK: Book = { bids: [], asks: [], channelSequence: 0n };

function level(entry: PriceLevel): Level {
  return { price: units(entry.price), quantity: integer(entry.quantity), orders: entry.order_count ?? 0 };
}

export function fromSnapshot(snapshot: DepthSnapshot): Book {
  return {
    bids: (snapshot.bids ?? []).map(level).sort((a, b) => (a.price > b.price ? -1 : 1)),
    asks: (snapshot.asks ?? []).map(level).sort((a, b) => (a.price < b.price ? -1 : 1)),
    channelSequence: integer(snapshot.channel_sequence),
  };
}

function applySide(levels: Level[], price: bigint, change: Level | null, descending: boolean): Level[] {
  const kept = levels.filter((entry) => entry.price !== price);
  if (change === null || change.quantity <= 0n) return kept;
  kept.push(change);
  kept.sort((a, b) => (descending ? (a.price > b.price ? -1 : 1) : a.price < b.price ? -1 : 1));
  return kept;
}

export function applyUpdate(book: Book, update: DepthUpdate): Book {
  let { bids, asks } = book;
  for (const change of update.changes ?? []) {
    const price = units(change.price);
    const next = change.action === "LEVEL_ACTION_DELETE" ? null : level(change);
    if (change.side === "SIDE_BUY") bids = applySide(bids, price, next, true);
    else if (change.side === "SIDE_SELL") asks = applySide(asks, price, next, false);
  }
  return { bids, asks, channelSequence: integer(update.channel_sequence) };
}

/**
 * Live market data for the page: the L1 quotes of every instrument (the
 * instrument list) on one connection, and the ladder and the trade tape of
 * the instrument on screen on another, replaced when the instrument changes.
 * Each is a ConflatingStore, so a burst of messages costs one render a frame.
 */
import type { Quote, Trade } from "../api/types";
import { Stream, type StreamMessage } from "../api/stream";
import { applyUpdate, EMPTY_BOOK, fromSnapshot, type Book } from "./book";
import { ConflatingStore } from "./conflate";

export const TAPE_LENGTH = 60;

export class QuotesFeed {
  readonly store = new ConflatingStore<Readonly<Record<string, Quote>>>({});
  private readonly stream: Stream;

  constructor(symbols: string[], socketFactory?: (url: string) => WebSocket) {
    this.stream = new Stream({
      subscriptions: symbols.map((symbol) => ({ channel: "L1" as const, symbol })),
      onMessage: (message) => this.take(message),
      ...(socketFactory ? { socketFactory } : {}),
    });
  }

  private take(message: StreamMessage): void {
    if (message.type !== "quote") return;
    const quote = message.data as Quote;
    const symbol = quote.symbol;
    if (!symbol) return;
    this.store.update((quotes) => ({ ...quotes, [symbol]: quote }));
  }

  close(): void {
    this.stream.close();
  }
}

export interface SymbolState {
  symbol: string;
  book: Book;
  /** Newest first. */
  trades: Trade[];
  /** Set when the stream said data was lost and fresh snapshots follow. */
  resyncs: number;
  error: string;
}

export class SymbolFeed {
  readonly store: ConflatingStore<SymbolState>;
  private readonly stream: Stream;
  private readonly tradeListeners = new Set<(trade: Trade) => void>();

  constructor(symbol: string, socketFactory?: (url: string) => WebSocket) {
    this.store = new ConflatingStore<SymbolState>({ symbol, book: EMPTY_BOOK, trades: [], resyncs: 0, error: "" });
    this.stream = new Stream({
      subscriptions: [
        { channel: "L2", symbol },
        { channel: "TRADES", symbol },
      ],
      onMessage: (message) => this.take(message),
      ...(socketFactory ? { socketFactory } : {}),
    });
  }

  /** Every trade as it comes (the chart's live bar), not conflated. */
  onTrade(listener: (trade: Trade) => void): () => void {
    this.tradeListeners.add(listener);
    return () => this.tradeListeners.delete(listener);
  }

  private take(message: StreamMessage): void {
    switch (message.type) {
      case "depth_snapshot":
        this.store.update((state) => ({ ...state, book: fromSnapshot(message.data) }));
        break;
      case "depth_update":
        this.store.update((state) => ({ ...state, book: applyUpdate(state.book, message.data) }));
        break;
      case "trade": {
        const trade = message.data as Trade;
        this.tradeListeners.forEach((listener) => listener(trade));
        this.store.update((state) => ({ ...state, trades: [trade, ...state.trades].slice(0, TAPE_LENGTH) }));
        break;
      }
      case "resync":
        this.store.update((state) => ({ ...state, resyncs: state.resyncs + 1 }));
        break;
      case "error":
        this.store.update((state) => ({ ...state, error: message.data.message ?? message.data.reason ?? "" }));
        break;
      default:
        break;
    }
  }

  close(): void {
    this.stream.close();
  }
}

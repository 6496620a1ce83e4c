/**
 * One /ws connection (docs/api.md, "WebSocket: /ws"): it sends its
 * subscriptions on open, and again after a reconnection (with a growing
 * pause), so a restarted bridge or a dropped network heals by itself. The
 * protocol has no unsubscribe: a view that stops needing a stream closes its
 * connection.
 */
import { websocketUrl } from "./config";

export type StreamMessage =
  | { type: "quote" | "depth_snapshot" | "depth_update" | "trade" | "heartbeat" | "report" | "alert" | "alert_heartbeat"; data: Record<string, unknown> }
  | { type: "resync"; data: { channel?: string; symbol?: string } }
  | { type: "error"; data: { message?: string; reason?: string } };

export type Subscription =
  | { channel: "L1" | "L2" | "TRADES"; symbol: string }
  | { channel: "REPORTS"; account_id: string }
  | { channel: "ALERTS"; account_id?: string; symbol?: string };

export interface StreamOptions {
  subscriptions: Subscription[];
  onMessage: (message: StreamMessage) => void;
  /** Told of each (re)connection: state fetched over REST may be stale. */
  onOpen?: () => void;
  /** The access token to send first (REPORTS and ALERTS need one); read at each connection. */
  token?: () => string;
  url?: string;
  socketFactory?: (url: string) => WebSocket;
}

const FIRST_PAUSE_MS = 500;
const LONGEST_PAUSE_MS = 10_000;

export class Stream {
  private socket: WebSocket | null = null;
  private closed = false;
  private pause = FIRST_PAUSE_MS;
  private retry: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: StreamOptions) {
    this.connect();
  }

  private connect(): void {
    const factory = this.options.socketFactory ?? ((url: string) => new WebSocket(url));
    const socket = factory(this.options.url ?? websocketUrl());
    this.socket = socket;
    socket.onopen = () => {
      this.pause = FIRST_PAUSE_MS;
      const token = this.options.token?.();
      if (token) socket.send(JSON.stringify({ op: "auth", token }));
      for (const subscription of this.options.subscriptions) {
        socket.send(JSON.stringify({ op: "subscribe", ...subscription }));
      }
      this.options.onOpen?.();
    };
    socket.onmessage = (event: MessageEvent<string>) => {
      try {
        this.options.onMessage(JSON.parse(event.data) as StreamMessage);
      } catch (error) {
        console.error("unreadable /ws message", error);
      }
    };
    socket.onclose = () => {
      if (this.closed) return;
      this.retry = setTimeout(() => this.connect(), this.pause);
      this.pause = Math.min(this.pause * 2, LONGEST_PAUSE_MS);
    };
  }

  /** Reconnect now (a new token after a refresh; a subscription ended as too slow). */
  restart(): void {
    if (this.closed) return;
    clearTimeout(this.retry);
    const old = this.socket;
    this.socket = null;
    if (old) {
      old.onclose = null;
      old.close();
    }
    this.connect();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.socket?.close();
  }
}

/**
 * The risk page's surveillance alerts, live: the list is read once over REST
 * and then kept up by the /ws ALERTS stream, merged by alert id (the stream
 * and the list may both hold an alert). The list is (re-)read after each
 * connection's first `alert_heartbeat`, which the bridge sends once the
 * exchange has subscribed the stream: an alert raised before it is in the
 * list, one raised after it comes on the stream, so a dropped connection or a
 * stream ended as too slow (SLOW_CONSUMER) loses none. A reviewed alert
 * comes again on the stream with its new status and a higher review count.
 */
import type { Alert } from "../api/types";
import { Stream, type StreamMessage } from "../api/stream";
import { ApiError } from "../api/errors";
import { unwrap, type Session } from "../api/session";
import { ConflatingStore } from "./conflate";

/** Alerts kept on the page, the newest; the list read asks for as many. */
export const ALERTS_KEPT = 200;

export interface AlertsState {
  /** Newest first (by alert id, which the exchange gives in order). */
  alerts: Alert[];
  /** Whether a stream is subscribed and the list read after it. */
  live: boolean;
  error: string;
}

function newestFirst(a: Alert, b: Alert): number {
  const left = BigInt(a.alert_id ?? "0");
  const right = BigInt(b.alert_id ?? "0");
  return left === right ? 0 : left < right ? 1 : -1;
}

/** How many reviews an alert has had: a copy with more is newer. */
function reviews(alert: Alert): number {
  return alert.review_count ?? 0;
}

/** `current` with `incoming` merged in: one alert per id (the incoming copy
 * wins unless it has had fewer reviews: a list read before a review must not
 * undo the reviewed copy the stream brought), newest first, at most `kept`.
 * Returns `current` itself when nothing changes, so React does not re-render. */
export function mergeAlerts(current: readonly Alert[], incoming: readonly Alert[], kept = ALERTS_KEPT): Alert[] {
  const byId = new Map<string, Alert>();
  for (const alert of current) if (alert.alert_id) byId.set(alert.alert_id, alert);
  let changed = false;
  for (const alert of incoming) {
    if (!alert.alert_id) continue;
    const known = byId.get(alert.alert_id);
    if (known !== undefined && (reviews(known) > reviews(alert) || JSON.stringify(known) === JSON.stringify(alert))) continue;
    byId.set(alert.alert_id, alert);
    changed = true;
  }
  if (!changed) return current as Alert[];
  return [...byId.values()].sort(newestFirst).slice(0, kept);
}

export class AlertFeed {
  readonly store = new ConflatingStore<AlertsState>({ alerts: [], live: false, error: "" });
  private readonly stream: Stream;
  /** Whether this connection's first heartbeat has come (and the list been read after it). */
  private subscribed = false;
  private closed = false;

  constructor(
    private readonly session: Session,
    socketFactory?: (url: string) => WebSocket,
  ) {
    this.stream = new Stream({
      subscriptions: [{ channel: "ALERTS" }],
      token: () => session.token,
      onOpen: () => {
        this.subscribed = false;
        this.store.update((state) => (state.live ? { ...state, live: false } : state));
      },
      onMessage: (message) => this.take(message),
      ...(socketFactory ? { socketFactory } : {}),
    });
  }

  private take(message: StreamMessage): void {
    if (message.type === "alert") {
      const alert = message.data as Alert;
      this.store.update((state) => {
        const alerts = mergeAlerts(state.alerts, [alert]);
        return alerts === state.alerts ? state : { ...state, alerts };
      });
    } else if (message.type === "alert_heartbeat" && !this.subscribed) {
      this.subscribed = true;
      void this.load();
    } else if (message.type === "error") {
      const reason = message.data.reason ?? "";
      this.store.update((state) => ({ ...state, live: false, error: `${reason}: ${message.data.message ?? ""}` }));
      // Both end the subscription; a new one re-reads the list after its first heartbeat.
      if (reason === "SLOW_CONSUMER") this.stream.restart();
      if (reason === "UNAUTHENTICATED") this.session.refresh().then(() => this.stream.restart(), () => undefined);
    }
  }

  /** The newest alerts over REST, merged with what the stream brought. */
  private async load(): Promise<void> {
    try {
      const answer = unwrap(await this.session.api.GET("/risk/alerts", { params: { query: { page_size: ALERTS_KEPT } } }));
      if (this.closed) return;
      this.store.update((state) => ({ alerts: mergeAlerts(state.alerts, answer.alerts ?? []), live: true, error: "" }));
    } catch (error) {
      const text = error instanceof ApiError ? `Refused: ${error.display}` : String(error);
      this.store.update((state) => ({ ...state, error: text }));
    }
  }

  /** An alert as a review of this page left it (the stream brings it too). */
  accept(alert: Alert): void {
    this.store.update((state) => {
      const alerts = mergeAlerts(state.alerts, [alert]);
      return alerts === state.alerts ? state : { ...state, alerts };
    });
  }

  close(): void {
    this.closed = true;
    this.stream.close();
  }
}

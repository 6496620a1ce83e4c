import type { Alert } from "../api/types";
import { signedIn } from "../test-bridge";
import { FakeSocket } from "../test-socket";
import { AlertFeed, mergeAlerts } from "./alerts";

const wash = (id: string, extra: Partial<Alert> = {}): Alert => ({
  alert_id: id, kind: "ALERT_KIND_WASH_TRADE", account_id: "ALICE", symbol: "AAPL",
  evidence: { order_ids: ["1", "2"], trade_ids: ["7"] }, ...extra,
});

/** Settle the promises a message started (the list read over REST). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("mergeAlerts", () => {
  it("keeps one alert per id, newest first, the incoming copy winning", () => {
    const merged = mergeAlerts([wash("3"), wash("1")], [wash("2"), wash("3", { description: "again" }), wash("10")]);
    expect(merged.map((alert) => alert.alert_id)).toEqual(["10", "3", "2", "1"]);
    expect(merged[1]?.description).toBe("again");
  });

  it("returns the same array when nothing is new, and keeps only the newest", () => {
    const current = [wash("2"), wash("1")];
    expect(mergeAlerts(current, [wash("1"), { description: "no id" }])).toBe(current);
    expect(mergeAlerts(current, [wash("3")], 2).map((alert) => alert.alert_id)).toEqual(["3", "2"]);
  });
});

describe("AlertFeed", () => {
  beforeEach(() => {
    FakeSocket.made = [];
  });

  it("subscribes, reads the list after the first heartbeat, applies the stream and recovers", async () => {
    let listed: Alert[] = [wash("5"), wash("4")];
    const { session, calls } = await signedIn(
      { "GET /api/risk/alerts": () => [200, { alerts: listed }] },
      { user_id: "officer", username: "officer", roles: ["ROLE_RISK_OFFICER"] },
    );
    const feed = new AlertFeed(session, () => new FakeSocket() as unknown as WebSocket);
    const first = FakeSocket.made[0]!;
    first.onopen?.();
    expect(first.sent).toEqual([{ op: "auth", token: "access" }, { op: "subscribe", channel: "ALERTS" }]);
    // Nothing is read before the stream is subscribed: an alert raised in
    // between would be in neither.
    expect(calls).toEqual([]);
    first.deliver("alert", wash("6"));
    first.deliver("alert_heartbeat", { sequence: "9" });
    await settle();
    expect(calls.map((call) => call.path)).toEqual(["/api/risk/alerts"]);
    expect(feed.store.get().alerts.map((alert) => alert.alert_id)).toEqual(["6", "5", "4"]);
    expect(feed.store.get().live).toBe(true);

    // New alerts show at once; a repeat does not double.
    first.deliver("alert", wash("7"));
    first.deliver("alert", wash("7"));
    first.deliver("alert_heartbeat", { sequence: "10" });
    await settle();
    expect(feed.store.get().alerts.map((alert) => alert.alert_id)).toEqual(["7", "6", "5", "4"]);
    expect(calls).toHaveLength(1);

    // Too slow: the bridge ends the subscription; the feed subscribes again
    // and re-reads the list, which has what the gap held.
    listed = [wash("9"), wash("8"), wash("7")];
    first.deliver("error", { reason: "SLOW_CONSUMER", message: "ALERTS: alerts unread for too long" });
    expect(feed.store.get().live).toBe(false);
    const second = FakeSocket.made[1]!;
    second.onopen?.();
    expect(second.sent).toContainEqual({ op: "subscribe", channel: "ALERTS" });
    second.deliver("alert_heartbeat", { sequence: "11" });
    await settle();
    expect(feed.store.get().alerts.map((alert) => alert.alert_id)).toEqual(["9", "8", "7", "6", "5", "4"]);
    expect(feed.store.get()).toMatchObject({ live: true, error: "" });
    feed.close();
  });

  it("shows the stream's refusal with its reason and does not retry it", async () => {
    const { session } = await signedIn({}, { user_id: "t", username: "t", roles: ["ROLE_TRADER"] });
    const feed = new AlertFeed(session, () => new FakeSocket() as unknown as WebSocket);
    const socket = FakeSocket.made[0]!;
    socket.onopen?.();
    socket.deliver("error", { reason: "FORBIDDEN", message: "ALERTS: not allowed" });
    expect(feed.store.get().error).toBe("FORBIDDEN: ALERTS: not allowed");
    expect(FakeSocket.made).toHaveLength(1);
    feed.close();
  });
});

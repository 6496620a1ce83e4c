import { signedIn } from "../test-bridge";
import { FakeSocket } from "../test-socket";
import { AccountFeed, isFill, orderAfter } from "./account";

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("orders from execution reports", () => {
  it("keeps an order open through partial fills and drops it when it closes", () => {
    const placed = orderAfter(undefined, {
      order_id: "9", symbol: "AAPL", side: "SIDE_BUY", price: "190.0000", quantity: "100",
      leaves_quantity: "100", cum_quantity: "0", order_status: "ORDER_STATUS_NEW", exec_type: "EXEC_TYPE_NEW",
    });
    expect(placed).toMatchObject({ order_id: "9", status: "ORDER_STATUS_NEW", leaves_quantity: "100" });
    const partial = { order_id: "9", leaves_quantity: "60", cum_quantity: "40", order_status: "ORDER_STATUS_PARTIALLY_FILLED" as const, exec_type: "EXEC_TYPE_PARTIAL_FILL" as const };
    const after = orderAfter(placed ?? undefined, partial);
    expect(after).toMatchObject({ symbol: "AAPL", price: "190.0000", leaves_quantity: "60", cum_quantity: "40" });
    expect(isFill(partial)).toBe(true);
    expect(orderAfter(after ?? undefined, { order_id: "9", order_status: "ORDER_STATUS_CANCELED", exec_type: "EXEC_TYPE_CANCELED" })).toBeNull();
  });

  it("leaves orders alone on a refusal that names none", () => {
    expect(orderAfter(undefined, { order_id: "0", order_status: "ORDER_STATUS_REJECTED", exec_type: "EXEC_TYPE_REJECTED" })).toBeNull();
    expect(isFill({ exec_type: "EXEC_TYPE_REJECTED" })).toBe(false);
  });
});

describe("AccountFeed", () => {
  beforeEach(() => {
    FakeSocket.made = [];
  });

  it("subscribes again after a SLOW_CONSUMER end and reloads what the gap held", async () => {
    let open = [{ order_id: "1", symbol: "AAPL", status: "ORDER_STATUS_NEW" }];
    const { session, calls } = await signedIn(
      {
        "GET /api/orders": () => [200, { orders: open }],
        "GET /api/executions": () => [200, { reports: [] }],
        "GET /api/accounts/ALICE": () => [200, { account: { account_id: "ALICE", buying_power: "10.0000" } }],
      },
      { user_id: "alice", username: "alice", roles: ["ROLE_TRADER"] },
    );
    const feed = new AccountFeed(session, "ALICE", () => new FakeSocket() as unknown as WebSocket);
    const first = FakeSocket.made[0]!;
    first.onopen?.();
    await settle();
    expect(Object.keys(feed.store.get().orders)).toEqual(["1"]);
    const reads = calls.length;

    // Meanwhile order 1 traded and order 2 was placed; the bridge ends the
    // stream rather than drop those reports.
    open = [{ order_id: "2", symbol: "AAPL", status: "ORDER_STATUS_NEW" }];
    first.deliver("error", { reason: "SLOW_CONSUMER", message: "REPORTS ALICE: reports unread for too long" });
    const second = FakeSocket.made[1];
    expect(second).toBeDefined();
    second!.onopen?.();
    expect(second!.sent).toContainEqual({ op: "subscribe", channel: "REPORTS", account_id: "ALICE" });
    await settle();
    expect(calls.slice(reads).map((call) => call.path).sort()).toEqual(["/api/accounts/ALICE", "/api/executions", "/api/orders"]);
    expect(Object.keys(feed.store.get().orders)).toEqual(["2"]);
    feed.close();
  });
});

import { isFill, orderAfter } from "./account";

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

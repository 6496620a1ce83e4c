import { formOf, limitsOf } from "./limits";

describe("risk limits form", () => {
  it("round-trips the limits, an empty field meaning no limit", () => {
    const form = formOf({ max_order_quantity: "100000", max_order_notional: "5000000.0000", price_collar_bps: 1000, allow_short_selling: true });
    expect(form.max_open_orders).toBe("");
    expect(limitsOf(form)).toEqual({
      limits: { max_order_quantity: "100000", max_order_notional: "5000000.0000", price_collar_bps: 1000, allow_short_selling: true },
      errors: {},
    });
  });

  it("names what is not a limit", () => {
    const form = { ...formOf(undefined), max_order_notional: "1e6", max_open_orders: "3000000000", max_order_quantity: "-5" };
    const { limits, errors } = limitsOf(form);
    expect(limits).toBeUndefined();
    expect(Object.keys(errors).sort()).toEqual(["max_open_orders", "max_order_notional", "max_order_quantity"]);
  });
});

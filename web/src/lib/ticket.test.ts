import type { Instrument } from "../api/types";
import { allowedTimesInForce, emptyTicket, validateTicket, type Ticket } from "./ticket";

const AAPL: Instrument = {
  symbol: "AAPL",
  tick_size: "0.0100",
  lot_size: "1",
  max_order_quantity: "100000",
  price_band_bps: 1000,
  reference_price: "190.0000",
};
const BOARD_LOTS: Instrument = { ...AAPL, symbol: "LOTS", lot_size: "100", tick_size: "0.0050" };
const NOW = new Date("2026-12-07T12:00:00Z");

function ticket(changes: Partial<Ticket>): Ticket {
  return { ...emptyTicket(), quantity: "100", price: "190.05", ...changes };
}

describe("validateTicket", () => {
  it("builds the request of a valid limit order with exact decimal strings", () => {
    const { errors, request } = validateTicket(ticket({}), AAPL, undefined, NOW);
    expect(errors).toEqual({});
    expect(request).toEqual({
      symbol: "AAPL",
      side: "SIDE_BUY",
      order_type: "ORDER_TYPE_LIMIT",
      time_in_force: "TIME_IN_FORCE_DAY",
      quantity: "100",
      price: "190.0500",
    });
  });

  it("names a price off the tick, outside the band or malformed", () => {
    expect(validateTicket(ticket({ price: "190.055" }), AAPL, undefined, NOW).errors.price).toMatch(/tick 0.01/);
    expect(validateTicket(ticket({ price: "210.00" }), AAPL, undefined, NOW).errors.price).toMatch(/band 171.0000 – 209.0000/);
    expect(validateTicket(ticket({ price: "1e2" }), AAPL, undefined, NOW).errors.price).toMatch(/decimal/);
    expect(validateTicket(ticket({ price: "0" }), AAPL, undefined, NOW).errors.price).toMatch(/positive/);
    // The band follows the last trade once there is one.
    expect(validateTicket(ticket({ price: "210.00" }), AAPL, "200.0000", NOW).errors).toEqual({});
    expect(validateTicket(ticket({ price: "12.005" }), BOARD_LOTS, "12.0000", NOW).errors.price).toBeUndefined();
  });

  it("checks quantity against lot and maximum", () => {
    expect(validateTicket(ticket({ quantity: "150" }), BOARD_LOTS, "190.00", NOW).errors.quantity).toMatch(/lot size 100/);
    expect(validateTicket(ticket({ quantity: "100001" }), AAPL, undefined, NOW).errors.quantity).toMatch(/at most 100000/);
    expect(validateTicket(ticket({ quantity: "1.5" }), AAPL, undefined, NOW).errors.quantity).toMatch(/whole/);
    expect(validateTicket(ticket({ quantity: "0" }), AAPL, undefined, NOW).errors.quantity).toMatch(/positive/);
  });

  it("sends no price on a market order and a stop price on stop orders", () => {
    const market = validateTicket(ticket({ orderType: "MARKET", price: "" }), AAPL, undefined, NOW);
    expect(market.request?.price).toBeUndefined();
    expect(market.request?.order_type).toBe("ORDER_TYPE_MARKET");
    const stop = validateTicket(ticket({ orderType: "STOP", stopPrice: "185" }), AAPL, undefined, NOW);
    expect(stop.request).toMatchObject({ order_type: "ORDER_TYPE_STOP", stop_price: "185.0000" });
    expect(stop.request?.price).toBeUndefined();
    const stopLimit = validateTicket(ticket({ orderType: "STOP_LIMIT", stopPrice: "" }), AAPL, undefined, NOW);
    expect(stopLimit.errors.stopPrice).toMatch(/Stop price/);
  });

  it("allows the times in force the engine allows", () => {
    expect(allowedTimesInForce("MARKET", false)).toEqual(["DAY", "IOC", "FOK"]);
    expect(allowedTimesInForce("LIMIT", true)).toEqual(["DAY", "GTC", "GTD"]);
    expect(validateTicket(ticket({ orderType: "MARKET", timeInForce: "GTC" }), AAPL, undefined, NOW).errors.timeInForce).toBeDefined();
    expect(validateTicket(ticket({ postOnly: true, timeInForce: "IOC" }), AAPL, undefined, NOW).errors.timeInForce).toMatch(/post-only/);
    expect(validateTicket(ticket({ postOnly: true, orderType: "STOP_LIMIT", stopPrice: "190" }), AAPL, undefined, NOW).errors.postOnly).toBeDefined();
  });

  it("checks an iceberg's display quantity", () => {
    const iceberg = validateTicket(ticket({ quantity: "1000", displayQuantity: "100" }), AAPL, undefined, NOW);
    expect(iceberg.request?.display_quantity).toBe("100");
    expect(validateTicket(ticket({ displayQuantity: "200" }), AAPL, undefined, NOW).errors.displayQuantity).toMatch(/exceed/);
    expect(validateTicket(ticket({ orderType: "MARKET", displayQuantity: "10" }), AAPL, undefined, NOW).errors.displayQuantity).toMatch(/iceberg/);
  });

  it("needs a future expiry for GTD and sends it as RFC 3339", () => {
    expect(validateTicket(ticket({ timeInForce: "GTD" }), AAPL, undefined, NOW).errors.expireTime).toMatch(/needs/);
    expect(validateTicket(ticket({ timeInForce: "GTD", expireTime: "2026-12-07T11:00:00Z" }), AAPL, undefined, NOW).errors.expireTime).toMatch(/future/);
    const gtd = validateTicket(ticket({ timeInForce: "GTD", expireTime: "2026-12-31T21:00:00Z" }), AAPL, undefined, NOW);
    expect(gtd.request?.expire_time).toBe("2026-12-31T21:00:00.000Z");
    expect(gtd.request?.time_in_force).toBe("TIME_IN_FORCE_GTD");
  });
});

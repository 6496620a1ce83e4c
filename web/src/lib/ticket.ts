/**
 * The order ticket's rules, as the engine applies them
 * (matching/validation.py), so that a mistake is named before it is sent.
 * The server stays the judge: what passes here can still be refused (risk,
 * phase, a moved band), and that refusal is shown with its reason.
 */
import type { Instrument, PlaceOrderRequest, Side } from "../api/types";
import { integer, parseFixed, toDecimalString, units } from "./decimal";

export const ORDER_TYPES = ["LIMIT", "MARKET", "STOP", "STOP_LIMIT"] as const;
export type OrderKind = (typeof ORDER_TYPES)[number];
export const TIMES_IN_FORCE = ["DAY", "GTC", "IOC", "FOK", "GTD"] as const;
export type TimeInForceName = (typeof TIMES_IN_FORCE)[number];

export interface Ticket {
  side: Side;
  orderType: OrderKind;
  timeInForce: TimeInForceName;
  quantity: string;
  price: string;
  stopPrice: string;
  /** Shown quantity of an iceberg; empty for a fully shown order. */
  displayQuantity: string;
  postOnly: boolean;
  /** GTD's expiry, as an ISO 8601 instant. */
  expireTime: string;
}

export type TicketField = "quantity" | "price" | "stopPrice" | "displayQuantity" | "timeInForce" | "postOnly" | "expireTime";
export type TicketErrors = Partial<Record<TicketField, string>>;

export function emptyTicket(side: Side = "SIDE_BUY"): Ticket {
  return {
    side,
    orderType: "LIMIT",
    timeInForce: "DAY",
    quantity: "",
    price: "",
    stopPrice: "",
    displayQuantity: "",
    postOnly: false,
    expireTime: "",
  };
}

export function needsPrice(kind: OrderKind): boolean {
  return kind === "LIMIT" || kind === "STOP_LIMIT";
}

export function needsStop(kind: OrderKind): boolean {
  return kind === "STOP" || kind === "STOP_LIMIT";
}

/** The times in force an order type may have (a market order only DAY, IOC, FOK). */
export function allowedTimesInForce(kind: OrderKind, postOnly: boolean): readonly TimeInForceName[] {
  const all = kind === "MARKET" ? (["DAY", "IOC", "FOK"] as const) : TIMES_IN_FORCE;
  return postOnly ? all.filter((tif) => tif !== "IOC" && tif !== "FOK") : all;
}

function checkQuantity(text: string, instrument: Instrument, name: string): [bigint | null, string | undefined] {
  if (!/^\d+$/.test(text.trim())) return [null, `${name} must be a whole number of shares`];
  const quantity = BigInt(text.trim());
  const lot = integer(instrument.lot_size) || 1n;
  const maximum = integer(instrument.max_order_quantity);
  if (quantity <= 0n) return [null, `${name} must be positive`];
  if (quantity % lot !== 0n) return [null, `${name} must be a multiple of the lot size ${lot}`];
  if (maximum > 0n && quantity > maximum) return [null, `${name} must be at most ${maximum}`];
  return [quantity, undefined];
}

function checkPrice(text: string, tick: bigint, name: string): [bigint | null, string | undefined] {
  const value = parseFixed(text);
  if (value === null) return [null, `${name} must be a decimal number such as 190.05`];
  if (value <= 0n) return [null, `${name} must be positive`];
  if (tick > 0n && value % tick !== 0n) {
    return [null, `${name} must be a multiple of the tick ${toDecimalString(tick).replace(/0+$/, "")}`];
  }
  return [value, undefined];
}

/**
 * Check `ticket` against `instrument`; `lastPrice` is the last trade's price
 * string (the band's reference, else the instrument's reference price), `now`
 * the time GTD expiries are compared with. Gives the errors by field and,
 * when there are none, the request to send (without account and client order id).
 */
export function validateTicket(
  ticket: Ticket,
  instrument: Instrument,
  lastPrice: string | undefined,
  now: Date,
): { errors: TicketErrors; request?: Omit<PlaceOrderRequest, "account_id" | "client_order_id"> } {
  const errors: TicketErrors = {};
  const tick = units(instrument.tick_size);
  const [quantity, quantityError] = checkQuantity(ticket.quantity, instrument, "Quantity");
  if (quantityError) errors.quantity = quantityError;

  let price: bigint | null = null;
  if (needsPrice(ticket.orderType)) {
    let priceError: string | undefined;
    [price, priceError] = checkPrice(ticket.price, tick, "Price");
    if (priceError) errors.price = priceError;
    const band = BigInt(instrument.price_band_bps ?? 0);
    const reference = units(lastPrice) || units(instrument.reference_price);
    if (price !== null && band > 0n && reference > 0n) {
      const distance = price > reference ? price - reference : reference - price;
      if (distance * 10_000n > reference * band) {
        const low = reference - (reference * band) / 10_000n;
        const high = reference + (reference * band) / 10_000n;
        errors.price = `Price must lie within the band ${toDecimalString(low)} – ${toDecimalString(high)}`;
      }
    }
  }

  let stop: bigint | null = null;
  if (needsStop(ticket.orderType)) {
    let stopError: string | undefined;
    [stop, stopError] = checkPrice(ticket.stopPrice, tick, "Stop price");
    if (stopError) errors.stopPrice = stopError;
  }

  let display: bigint | null = null;
  if (ticket.displayQuantity.trim() !== "") {
    if (ticket.orderType !== "LIMIT") {
      errors.displayQuantity = "Only a limit order can be an iceberg";
    } else {
      let displayError: string | undefined;
      [display, displayError] = checkQuantity(ticket.displayQuantity, instrument, "Display quantity");
      if (displayError) errors.displayQuantity = displayError;
      else if (quantity !== null && display !== null && display > quantity) {
        errors.displayQuantity = "Display quantity must not exceed the quantity";
      }
    }
  }

  if (ticket.postOnly && ticket.orderType !== "LIMIT") errors.postOnly = "Only a limit order can be post-only";
  if (!allowedTimesInForce(ticket.orderType, ticket.postOnly).includes(ticket.timeInForce)) {
    errors.timeInForce = ticket.postOnly
      ? "A post-only order cannot be IOC or FOK"
      : "A market order is DAY, IOC or FOK";
  }

  let expire: string | undefined;
  if (ticket.timeInForce === "GTD") {
    const when = new Date(ticket.expireTime);
    if (ticket.expireTime === "" || Number.isNaN(when.getTime())) errors.expireTime = "GTD needs an expiry time";
    else if (when <= now) errors.expireTime = "The expiry time must be in the future";
    else expire = when.toISOString();
  }

  if (Object.keys(errors).length > 0 || quantity === null) return { errors };
  return {
    errors,
    request: {
      symbol: instrument.symbol,
      side: ticket.side,
      order_type: `ORDER_TYPE_${ticket.orderType}`,
      time_in_force: `TIME_IN_FORCE_${ticket.timeInForce}`,
      quantity: quantity.toString(),
      ...(price !== null ? { price: toDecimalString(price) } : {}),
      ...(stop !== null ? { stop_price: toDecimalString(stop) } : {}),
      ...(display !== null ? { display_quantity: display.toString() } : {}),
      ...(ticket.postOnly ? { post_only: true } : {}),
      ...(expire !== undefined ? { expire_time: expire } : {}),
    },
  };
}

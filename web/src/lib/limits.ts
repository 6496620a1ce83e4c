/**
 * The risk limits form: text fields to RiskLimits and back. An empty field is
 * an unset limit ("no limit", risk.proto); the whole set is sent, which the
 * contract's empty update mask means. Money stays a decimal string, checked
 * by parseFixed, never a float.
 */
import type { RiskLimits } from "../api/types";
import { parseFixed, toDecimalString } from "./decimal";

export const LIMIT_FIELDS = [
  { key: "max_order_quantity", label: "Max order quantity", kind: "int64" },
  { key: "max_order_notional", label: "Max order notional", kind: "money" },
  { key: "price_collar_bps", label: "Price collar (bps)", kind: "int32" },
  { key: "max_position_quantity", label: "Max position quantity", kind: "int64" },
  { key: "max_open_orders", label: "Max open orders", kind: "int32" },
  { key: "max_messages_per_second", label: "Max messages per second", kind: "int32" },
] as const;

export type LimitKey = (typeof LIMIT_FIELDS)[number]["key"];
export type LimitForm = Record<LimitKey, string> & { allow_short_selling: boolean };

const INT32_MAX = 2_147_483_647n;
const INT64_MAX = 9_223_372_036_854_775_807n;

export function formOf(limits: RiskLimits | undefined): LimitForm {
  const text = (value: string | number | undefined) => (value === undefined ? "" : String(value));
  return {
    max_order_quantity: text(limits?.max_order_quantity),
    max_order_notional: text(limits?.max_order_notional),
    price_collar_bps: text(limits?.price_collar_bps),
    max_position_quantity: text(limits?.max_position_quantity),
    max_open_orders: text(limits?.max_open_orders),
    max_messages_per_second: text(limits?.max_messages_per_second),
    allow_short_selling: limits?.allow_short_selling ?? false,
  };
}

/** The limits to send, or the errors by field. */
export function limitsOf(form: LimitForm): { limits?: RiskLimits; errors: Partial<Record<LimitKey, string>> } {
  const errors: Partial<Record<LimitKey, string>> = {};
  const limits: RiskLimits = { allow_short_selling: form.allow_short_selling };
  for (const field of LIMIT_FIELDS) {
    const text = form[field.key].trim();
    if (text === "") continue;
    if (field.kind === "money") {
      const value = parseFixed(text);
      if (value === null || value < 0n) errors[field.key] = "an amount such as 5000000.00, or empty for no limit";
      else limits.max_order_notional = toDecimalString(value);
      continue;
    }
    const maximum = field.kind === "int32" ? INT32_MAX : INT64_MAX;
    if (!/^\d+$/.test(text) || BigInt(text) > maximum) {
      errors[field.key] = `a whole number up to ${maximum}, or empty for no limit`;
      continue;
    }
    if (field.key === "max_order_quantity" || field.key === "max_position_quantity") limits[field.key] = text;
    else limits[field.key] = Number(text);
  }
  return Object.keys(errors).length > 0 ? { errors } : { limits, errors };
}

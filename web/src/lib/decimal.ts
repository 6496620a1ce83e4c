/**
 * Prices and money arrive as decimal strings ("190.0500") and quantities as
 * integer strings ("100"). They are never turned into floating point for
 * arithmetic: a price becomes a bigint count of units of 0.0001 (the
 * contract's 4 implied decimals, docs/api.md), a quantity a bigint of shares.
 */

export const PLACES = 4;
const SCALE = 10n ** BigInt(PLACES);
const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/** The units of 10^-places in `text`, or null when it is not a plain
 * decimal or has non-zero digits beyond `places` (those are never rounded). */
export function parseFixed(text: string, places: number = PLACES): bigint | null {
  const match = DECIMAL.exec(text.trim());
  if (match === null) return null;
  const [, sign = "", whole = "0", fraction = ""] = match;
  const kept = fraction.slice(0, places);
  if (/[^0]/.test(fraction.slice(places))) return null;
  const value = BigInt(whole + kept.padEnd(places, "0"));
  return sign === "-" ? -value : value;
}

/** A price or amount string of the contract in units of 0.0001 (0 if absent). */
export function units(text: string | undefined): bigint {
  if (text === undefined || text === "") return 0n;
  return parseFixed(text) ?? 0n;
}

/** An integer string of the contract (quantities, ids) as a bigint (0 if absent). */
export function integer(text: string | undefined): bigint {
  if (text === undefined || text === "" || !/^-?\d+$/.test(text)) return 0n;
  return BigInt(text);
}

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** `value` units of 10^-places written with exactly `decimals` decimals,
 * rounded half away from zero when `decimals` < places, with thousands
 * separators when `grouped`. */
export function formatUnits(
  value: bigint,
  decimals: number,
  { places = PLACES, grouped = true }: { places?: number; grouped?: boolean } = {},
): string {
  const negative = value < 0n;
  let magnitude = negative ? -value : value;
  if (decimals < places) {
    const step = 10n ** BigInt(places - decimals);
    magnitude = (magnitude + step / 2n) / step;
  } else if (decimals > places) {
    magnitude *= 10n ** BigInt(decimals - places);
  }
  const digits = magnitude.toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals);
  const head = grouped ? groupThousands(whole) : whole;
  const text = decimals > 0 ? `${head}.${fraction}` : head;
  return negative && magnitude !== 0n ? `-${text}` : text;
}

/** How many decimals a price on this tick needs ("0.01" -> 2, "0.005" -> 3, "1.00" -> 0). */
export function decimalsOfTick(tick: string | undefined): number {
  const value = units(tick);
  if (value <= 0n) return 2;
  let decimals = PLACES;
  let rest = value;
  while (decimals > 0 && rest % 10n === 0n) {
    rest /= 10n;
    decimals -= 1;
  }
  return Math.max(decimals, 2);
}

/** A price string shown with the instrument's decimals ("—" for none). */
export function formatPrice(text: string | undefined, decimals: number): string {
  const value = units(text);
  return value === 0n ? "—" : formatUnits(value, decimals);
}

/** Money with two decimals and separators. */
export function formatMoney(text: string | undefined): string {
  return formatUnits(units(text), 2);
}

/** A quantity string with thousands separators. */
export function formatQuantity(text: string | undefined): string {
  const value = integer(text);
  const negative = value < 0n;
  const digits = groupThousands((negative ? -value : value).toString());
  return negative ? `-${digits}` : digits;
}

/** The change from `reference` to `last` in units and in basis points of `reference`. */
export function change(last: bigint, reference: bigint): { units: bigint; bps: bigint } {
  if (last === 0n || reference === 0n) return { units: 0n, bps: 0n };
  const difference = last - reference;
  return { units: difference, bps: (difference * 10_000n) / reference };
}

/** Basis points as a percentage with two decimals ("+1.25%"). */
export function formatBps(bps: bigint): string {
  const text = formatUnits(bps, 2, { places: 2, grouped: false });
  return `${bps > 0n ? "+" : ""}${text}%`;
}

/** Units of 0.0001 back to a decimal string the bridge accepts. */
export function toDecimalString(value: bigint): string {
  return formatUnits(value, PLACES, { grouped: false });
}

export { SCALE };

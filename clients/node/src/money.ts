// Prices are int64 with 4 implied decimals (docs/api.md): bigint here, never
// a floating-point number.

const PLACES = 4;
const SCALE = 10n ** BigInt(PLACES);
const DECIMAL = /^-?[0-9]+(\.[0-9]+)?$/;

/** "190.05" -> 1900500n; refuses anything else, and digits beyond 4 places
 * that are not zeros (never rounds), as the REST bridge does. */
export function parsePrice(text: string): bigint {
  if (!DECIMAL.test(text)) {
    throw new Error(`not a price: ${JSON.stringify(text)} (digits, an optional fraction)`);
  }
  const negative = text.startsWith("-");
  const [whole, fraction = ""] = (negative ? text.slice(1) : text).split(".");
  if (/[1-9]/.test(fraction.slice(PLACES))) {
    throw new Error(`${text} has more than ${PLACES} decimal places`);
  }
  const units = BigInt(whole) * SCALE + BigInt(fraction.slice(0, PLACES).padEnd(PLACES, "0"));
  return negative ? -units : units;
}

/** 1900500n -> "190.0500". */
export function formatPrice(units: bigint): string {
  const sign = units < 0n ? "-" : "";
  const magnitude = units < 0n ? -units : units;
  const fraction = (magnitude % SCALE).toString().padStart(PLACES, "0");
  return `${sign}${magnitude / SCALE}.${fraction}`;
}

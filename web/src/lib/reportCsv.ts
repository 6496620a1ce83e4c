/**
 * Report downloads: the analytics service's JSON (through the REST bridge)
 * as CSV files, one row per fill, position, event or report. Values are
 * written as the API gives them (money as its decimal strings, times as
 * RFC 3339), so a file says what `stx report ... --format csv` would of the
 * same data, field for field by the API's names.
 */

export type Row = Record<string, unknown>;

/** One CSV cell: text as is, quoted when it holds a comma, quote or line break (RFC 4180). */
function cell(value: unknown): string {
  const text =
    typeof value === "string" ? value : typeof value === "number" || typeof value === "boolean" ? String(value) : value === undefined || value === null ? "" : JSON.stringify(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * A column: the API's field name, with `:n` for a count or id, `:m` for
 * money (4 decimals) and `:b` for a flag, whose zero proto3 JSON leaves out:
 * the file says 0, 0.0000 or false there rather than nothing.
 */
export type Column = string;

const ZERO: Record<string, string> = { n: "0", m: "0.0000", b: "false" };

/** A header of the columns' names and a line per row. */
export function toCsv(columns: readonly Column[], rows: readonly Row[]): string {
  const specs = columns.map((column) => {
    const [name = column, kind = ""] = column.split(":");
    return { name, zero: ZERO[kind] ?? "" };
  });
  const lines = [specs.map((spec) => spec.name).join(",")];
  for (const row of rows) {
    lines.push(specs.map(({ name, zero }) => (row[name] === undefined ? zero : cell(row[name]))).join(","));
  }
  return `${lines.join("\n")}\n`;
}

/** Every page of a paged report: `page(token)` until it gives no next token. */
export async function allPages<Page extends { next_page_token?: string }>(page: (token: string) => Promise<Page>): Promise<Page[]> {
  const pages: Page[] = [];
  let token = "";
  do {
    const next = await page(token);
    pages.push(next);
    token = next.next_page_token ?? "";
  } while (token);
  return pages;
}

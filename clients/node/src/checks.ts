// What the example expects: each check counts, and the first that fails
// stops the run with a non-zero exit status.

export class Mismatch extends Error {
  override name = "Mismatch";
}

export class Checks {
  passed = 0;

  that(condition: boolean, what: string): void {
    if (!condition) {
      throw new Mismatch(what);
    }
    this.passed += 1;
  }

  equal<T>(actual: T, expected: T, what: string): void {
    this.that(actual === expected, `${what}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

function show(value: unknown): string {
  return typeof value === "bigint" ? `${value}` : (JSON.stringify(value) ?? String(value));
}

import {
  change,
  decimalsOfTick,
  formatBps,
  formatMoney,
  formatPrice,
  formatQuantity,
  formatUnits,
  parseFixed,
  toDecimalString,
} from "./decimal";

describe("parseFixed", () => {
  it("reads decimal strings into units of 0.0001 exactly", () => {
    expect(parseFixed("190.05")).toBe(1_900_500n);
    expect(parseFixed("0.1")).toBe(1_000n);
    expect(parseFixed("-12.3400")).toBe(-123_400n);
    expect(parseFixed("7")).toBe(70_000n);
    // 0.1 + 0.2 in floating point is 0.30000000000000004; in units it is exact.
    expect(parseFixed("0.1")! + parseFixed("0.2")!).toBe(parseFixed("0.3"));
  });

  it("refuses what is not a plain decimal, and digits beyond the places", () => {
    for (const text of ["", "abc", "1e5", "+1", "1.", ".5", "1,000", "190.00001", "NaN"]) {
      expect(parseFixed(text)).toBeNull();
    }
    expect(parseFixed("190.05000")).toBe(1_900_500n);
  });
});

describe("formatting", () => {
  it("writes fixed decimals with separators, rounding half away from zero", () => {
    expect(formatUnits(12_345_678_900n, 2)).toBe("1,234,567.89");
    expect(formatUnits(1_900_500n, 2)).toBe("190.05");
    expect(formatUnits(1_900_550n, 2)).toBe("190.06");
    expect(formatUnits(-1_900_550n, 2)).toBe("-190.06");
    expect(formatUnits(120_050n, 3)).toBe("12.005");
    expect(formatUnits(49n, 2)).toBe("0.00");
    expect(formatUnits(5n, 0, { places: 0 })).toBe("5");
  });

  it("gives each instrument the decimals of its tick", () => {
    expect(decimalsOfTick("0.0100")).toBe(2);
    expect(decimalsOfTick("0.0050")).toBe(3);
    expect(decimalsOfTick("1.0000")).toBe(2);
    expect(decimalsOfTick("0.0001")).toBe(4);
  });

  it("shows prices, money and quantities as the contract's strings say", () => {
    expect(formatPrice("190.0500", 2)).toBe("190.05");
    expect(formatPrice("0.0000", 2)).toBe("—");
    expect(formatPrice(undefined, 2)).toBe("—");
    expect(formatMoney("1000000.0000")).toBe("1,000,000.00");
    expect(formatQuantity("1234567")).toBe("1,234,567");
    expect(formatQuantity("-300")).toBe("-300");
    // 2^63 - 1 stays exact, where a float would not.
    expect(formatQuantity("9223372036854775807")).toBe("9,223,372,036,854,775,807");
  });

  it("computes change in units and basis points", () => {
    const moved = change(parseFixed("192.00")!, parseFixed("190.00")!);
    expect(moved.units).toBe(20_000n);
    expect(formatBps(moved.bps)).toBe("+1.05%");
    expect(formatBps(change(parseFixed("188")!, parseFixed("190")!).bps)).toBe("-1.05%");
    expect(change(0n, 1n).units).toBe(0n);
  });

  it("writes units back as the bridge's decimal strings", () => {
    expect(toDecimalString(1_900_500n)).toBe("190.0500");
    expect(toDecimalString(-5n)).toBe("-0.0005");
  });
});

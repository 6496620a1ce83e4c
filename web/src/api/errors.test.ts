import { errorOf } from "./errors";

describe("errorOf", () => {
  it("takes the reason from ErrorInfo and the field from BadRequest", () => {
    const error = errorOf(
      {
        code: 3,
        message: "price 190.055 is not on the tick 0.01",
        details: [
          { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "PRICE_NOT_ON_TICK", domain: "stocktraderx.io" },
          { "@type": "type.googleapis.com/google.rpc.BadRequest", field_violations: [{ field: "price" }] },
        ],
      },
      400,
    );
    expect(error.reason).toBe("PRICE_NOT_ON_TICK");
    expect(error.field).toBe("price");
    expect(error.display).toBe("PRICE_NOT_ON_TICK: price 190.055 is not on the tick 0.01");
  });

  it("names a body that is no status by its HTTP code", () => {
    expect(errorOf("Bad Gateway", 502).reason).toBe("BACKEND_UNAVAILABLE");
    expect(errorOf(null, 418).reason).toBe("HTTP_418");
  });
});

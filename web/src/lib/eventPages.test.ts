import type { OrderEvent } from "../api/types";
import { signedIn } from "../test-bridge";
import { EventPages } from "./eventPages";

const ADMIN = { user_id: "a1", username: "admin", roles: ["ROLE_ADMIN"], account_ids: [] };

describe("EventPages", () => {
  it("reads every page once, then only the last page again and what follows it", async () => {
    const journal: OrderEvent[] = [1, 2, 3, 4, 5].map((n) => ({ sequence: String(n), exec_type: "EXEC_TYPE_NEW" }));
    // Page tokens are positions: "after n" (as the analytics process makes them).
    const { session, calls } = await signedIn(
      {
        "GET /api/analytics/order-events": (call) => {
          const after = Number(call.query.get("page_token") || "0");
          const size = Number(call.query.get("page_size"));
          const rest = journal.filter((event) => Number(event.sequence) > after);
          const page = rest.slice(0, size);
          return [200, { events: page, next_page_token: rest.length > size ? String(page.at(-1)?.sequence) : "" }];
        },
      },
      ADMIN,
    );
    const pages = new EventPages(session, 2);
    expect((await pages.read("2026-12-07")).map((event) => event.sequence)).toEqual(["1", "2", "3", "4", "5"]);
    expect(calls.map((call) => call.query.get("page_token"))).toEqual(["", "2", "4"]);

    journal.push({ sequence: "6", exec_type: "EXEC_TYPE_NEW" }, { sequence: "7", exec_type: "EXEC_TYPE_NEW" });
    calls.length = 0;
    expect((await pages.read("2026-12-07")).map((event) => event.sequence)).toEqual(["1", "2", "3", "4", "5", "6", "7"]);
    expect(calls.map((call) => call.query.get("page_token"))).toEqual(["4", "6"]);

    calls.length = 0;
    await pages.read("2026-12-08");
    expect(calls[0]?.query.get("page_token")).toBe("");
    expect(calls[0]?.query.get("date")).toBe("2026-12-08");
  });
});

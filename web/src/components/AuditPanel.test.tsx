import { fireEvent, render, screen, within } from "@testing-library/react";
import { signedIn } from "../test-bridge";
import { AuditPanel } from "./AuditPanel";

const ADMIN = { user_id: "a1", username: "admin", roles: ["ROLE_ADMIN"], account_ids: ["ADMIN"] };

describe("AuditPanel", () => {
  it("pages both logs and shows the verification plainly, a broken chain with its first problem", async () => {
    const { session, calls } = await signedIn(
      {
        "GET /api/admin/audit/entries": (call) => {
          if (call.query.get("log") === "AUDIT_LOG_AUTH") {
            return [200, { entries: [{ number: "7", action: "user_disabled", user_id: "b2", username: "bob", detail: "by a1: left", hash: "abcdef0123456789" }] }];
          }
          return call.query.get("page_token") === "41"
            ? [200, { entries: [{ number: "40", action: "NewOrder", account_id: "BOB" }] }]
            : [200, { entries: [{ number: "41", action: "FundAccount", account_id: "BOB", time: "2026-12-07T16:00:00Z" }], next_page_token: "41" }];
        },
        "GET /api/admin/audit:verify": () => [
          200,
          {
            logs: [
              { log: "AUDIT_LOG_COMMANDS", entries_checked: "41", holds: true },
              { log: "AUDIT_LOG_AUTH", entries_checked: "6", holds: false, first_problem: "entry_id 7: its content was changed" },
            ],
          },
        ],
      },
      ADMIN,
    );
    render(<AuditPanel session={session} />);
    const table = await screen.findByRole("table", { name: "audit entries" });
    await within(table).findByText("FundAccount");
    fireEvent.click(screen.getByRole("button", { name: "Older entries" }));
    await within(table).findByText("NewOrder");
    expect(screen.queryByRole("button", { name: "Older entries" })).toBeNull();

    fireEvent.click(screen.getByRole("button", { name: "Sign-ins and administration" }));
    await within(table).findByText("user_disabled");
    expect(within(table).getByText("bob")).toBeInTheDocument();
    expect(calls.at(-1)?.query.get("log")).toBe("AUDIT_LOG_AUTH");

    fireEvent.click(screen.getByRole("button", { name: "Verify both logs" }));
    const verification = await screen.findByTestId("audit-verification");
    expect(verification).toHaveTextContent("commands (audit_log): verified, 41 entries");
    expect(verification).toHaveTextContent("sign-ins and administration (auth_log): does not hold: entry_id 7: its content was changed (6 entries before it verified)");
  });
});

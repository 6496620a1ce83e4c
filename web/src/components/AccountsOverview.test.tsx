import { render, screen, within } from "@testing-library/react";
import { signedIn } from "../test-bridge";
import { AccountsOverview } from "./AccountsOverview";

const ADMIN = { user_id: "a1", username: "admin", roles: ["ROLE_ADMIN"], account_ids: ["ADMIN"] };

describe("AccountsOverview", () => {
  it("lists every account with its owner, cash, limits beside their usage, and the next page", async () => {
    const { session } = await signedIn(
      {
        "GET /api/admin/accounts": (call) =>
          call.query.get("page_token") === "BOB"
            ? [200, { accounts: [{ account: { account_id: "MM1", cash_balance: "0" }, risk: { limits: {}, usage: {} } }] }]
            : [
                200,
                {
                  accounts: [
                    {
                      account: { account_id: "BOB", user_id: "b2", cash_balance: "5000", buying_power: "4000.5" },
                      username: "bob",
                      risk: {
                        limits: { max_open_orders: 50, max_order_quantity: "10000", max_order_notional: "1000000" },
                        usage: { open_orders: 3, largest_position_quantity: "200" },
                        kill_switch_active: true,
                        kill_switch_reason: "drill",
                      },
                    },
                  ],
                  next_page_token: "BOB",
                },
              ],
      },
      ADMIN,
    );
    render(<AccountsOverview session={session} />);
    const list = await screen.findByRole("table", { name: "account list" });
    const row = (await within(list).findByText("BOB")).closest("tr") as HTMLElement;
    const cells = within(row).getAllByRole("cell").map((cell) => cell.textContent);
    expect(cells).toEqual(["BOB", "bob", "5,000.00", "4,000.50", "3 / 50", "0 / —", "200 / —", "10,000", "1,000,000.00", "no", "active: drill"]);
    screen.getByRole("button", { name: "More accounts" }).click();
    const other = (await within(list).findByText("MM1")).closest("tr") as HTMLElement;
    expect(within(other).getAllByRole("cell")[1]).toHaveTextContent("—");
  });
});

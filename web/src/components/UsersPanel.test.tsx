import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import type { User } from "../api/types";
import { refusal, signedIn } from "../test-bridge";
import { UsersPanel } from "./UsersPanel";

const ADMIN = { user_id: "a1", username: "admin", roles: ["ROLE_ADMIN"], account_ids: ["ADMIN"] };

describe("UsersPanel", () => {
  it("creates a user with roles and accounts, edits roles, disables and enables with a reason", async () => {
    const users: User[] = [{ user_id: "a1", username: "admin", roles: ["ROLE_ADMIN"], account_ids: ["ADMIN"], create_time: "2026-12-01T10:00:00Z" }];
    const { session, calls } = await signedIn(
      {
        "GET /api/admin/users": () => [200, { users }],
        "POST /api/admin/users": (call) => {
          const body = JSON.parse(call.body) as { username: string; roles: User["roles"]; account_ids: string[] };
          users.push({ user_id: "b2", username: body.username, roles: body.roles, account_ids: [body.username.toUpperCase(), ...body.account_ids] });
          return [200, { user: users[1] }];
        },
        "POST /api/admin/users/b2:setRoles": (call) => {
          users[1] = { ...users[1], roles: (JSON.parse(call.body) as { roles: User["roles"] }).roles };
          return [200, { user: users[1] }];
        },
        "POST /api/admin/users/b2:disable": () => {
          users[1] = { ...users[1], disabled: true };
          return [200, { user: users[1] }];
        },
        "POST /api/admin/users/b2:enable": () => {
          users[1] = { ...users[1], disabled: false };
          return [200, { user: users[1] }];
        },
      },
      ADMIN,
    );
    render(<UsersPanel session={session} />);
    const list = await screen.findByRole("table", { name: "user list" });
    await within(list).findByText("a1");

    const form = screen.getByRole("form", { name: "new user" });
    fireEvent.change(within(form).getByLabelText("Username"), { target: { value: "bob" } });
    fireEvent.change(within(form).getByLabelText("E-mail"), { target: { value: "bob@example.com" } });
    fireEvent.change(within(form).getByLabelText("Password"), { target: { value: "correct horse battery" } });
    fireEvent.change(within(form).getByLabelText("More accounts"), { target: { value: "BOB.ALGO, " } });
    fireEvent.click(within(form).getByLabelText("new user viewer"));
    fireEvent.click(screen.getByRole("button", { name: "Create user" }));
    expect(await screen.findByTestId("users-done")).toHaveTextContent("Created bob (BOB, BOB.ALGO)");
    expect(JSON.parse(calls.find((call) => call.method === "POST")?.body ?? "{}")).toEqual({
      username: "bob",
      email: "bob@example.com",
      password: "correct horse battery",
      roles: ["ROLE_TRADER", "ROLE_VIEWER"],
      account_ids: ["BOB.ALGO"],
    });
    const bob = await within(list).findByText("bob");
    const row = bob.closest("tr") as HTMLElement;

    fireEvent.click(within(row).getByRole("button", { name: "Edit roles" }));
    fireEvent.click(within(row).getByLabelText("bob viewer"));
    fireEvent.click(within(row).getByLabelText("bob admin"));
    fireEvent.click(within(row).getByRole("button", { name: "Save roles" }));
    expect(await screen.findByTestId("users-done")).toHaveTextContent("bob now has the roles trader, admin");

    fireEvent.click(within(row).getByRole("button", { name: "Disable" }));
    expect(await screen.findByTestId("users-problem")).toHaveTextContent("Give a reason");
    expect(calls.some((call) => call.path.endsWith(":disable"))).toBe(false);
    fireEvent.change(screen.getByLabelText("Reason (disable, enable)"), { target: { value: "left" } });
    fireEvent.click(within(row).getByRole("button", { name: "Disable" }));
    await waitFor(() => expect(within(row).getByTestId("user-state")).toHaveTextContent("disabled"));
    expect(JSON.parse(calls.find((call) => call.path.endsWith(":disable"))?.body ?? "{}")).toEqual({ user_id: "b2", reason: "left" });
    fireEvent.click(within(row).getByRole("button", { name: "Enable" }));
    await waitFor(() => expect(within(row).getByTestId("user-state")).toHaveTextContent("active"));
  });

  it("shows the refusal of an administrator's own lock-out with its reason", async () => {
    const { session } = await signedIn(
      {
        "GET /api/admin/users": () => [200, { users: [{ user_id: "a1", username: "admin", roles: ["ROLE_ADMIN"] }] }],
        "POST /api/admin/users/a1:disable": () => [400, refusal(9, "SELF_LOCKOUT", "you may not disable yourself")],
      },
      ADMIN,
    );
    render(<UsersPanel session={session} />);
    const list = await screen.findByRole("table", { name: "user list" });
    await within(list).findByText("a1");
    fireEvent.change(screen.getByLabelText("Reason (disable, enable)"), { target: { value: "oops" } });
    fireEvent.click(within(list).getByRole("button", { name: "Disable" }));
    expect(await screen.findByTestId("users-problem")).toHaveTextContent("Refused: SELF_LOCKOUT: you may not disable yourself");
    expect(within(list).getByTestId("user-state")).toHaveTextContent("active");
  });
});

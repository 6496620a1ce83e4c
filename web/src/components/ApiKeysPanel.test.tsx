import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import type { ApiKey } from "../api/types";
import { refusal, signedIn } from "../test-bridge";
import { ApiKeysPanel } from "./ApiKeysPanel";

const ADMIN = { user_id: "a1", username: "admin", roles: ["ROLE_TRADER", "ROLE_ADMIN"], account_ids: ["ADMIN"] };

describe("ApiKeysPanel", () => {
  it("creates a key with the chosen roles, shows its secret once, lists it and revokes it", async () => {
    const keys: ApiKey[] = [{ key_id: "k-old", label: "old", roles: ["ROLE_TRADER"], create_time: "2026-12-01T10:00:00Z", revoke_time: "2026-12-02T10:00:00Z" }];
    const { session, calls } = await signedIn(
      {
        "GET /api/users/me/api-keys": () => [200, { api_keys: keys }],
        "POST /api/users/me/api-keys": (call) => {
          const body = JSON.parse(call.body) as { label: string; roles: ApiKey["roles"] };
          keys.unshift({ key_id: "k-new", label: body.label, roles: body.roles, create_time: "2026-12-07T14:00:00Z" });
          return [200, { api_key: keys[0], secret: "s3cr3t-once" }];
        },
        "DELETE /api/users/me/api-keys/k-new": () => {
          keys[0] = { ...keys[0], revoke_time: "2026-12-07T14:05:00Z" };
          return [200, {}];
        },
      },
      ADMIN,
    );
    render(<ApiKeysPanel session={session} />);
    const list = await screen.findByRole("table", { name: "api key list" });
    await within(list).findByText("old");
    expect(within(list).getByText(/revoked 2026-12-02/)).toBeInTheDocument();
    expect(within(list).queryByRole("button", { name: "Revoke" })).toBeNull();

    fireEvent.click(screen.getByRole("button", { name: "Create key" }));
    expect(await screen.findByTestId("api-key-problem")).toHaveTextContent(/needs a label/);
    expect(calls.filter((call) => call.method === "POST")).toHaveLength(0);

    fireEvent.change(screen.getByLabelText("Label"), { target: { value: "algo" } });
    fireEvent.click(screen.getByLabelText("trader"));
    fireEvent.click(screen.getByRole("button", { name: "Create key" }));
    expect(await screen.findByTestId("api-key-secret")).toHaveTextContent("k-new: its secret is shown only now, copy it: s3cr3t-once");
    expect(JSON.parse(calls.find((call) => call.method === "POST")?.body ?? "{}")).toEqual({ label: "algo", roles: ["ROLE_TRADER"] });
    await within(list).findByText("algo");

    fireEvent.click(within(screen.getByTestId("api-key-secret")).getByRole("button", { name: /close/i }));
    expect(screen.queryByText(/s3cr3t-once/)).toBeNull();

    fireEvent.click(within(list).getByRole("button", { name: "Revoke" }));
    await within(list).findByText(/revoked 2026-12-07/);
    expect(calls.some((call) => call.method === "DELETE" && call.path === "/api/users/me/api-keys/k-new")).toBe(true);
  });

  it("shows the exchange's refusal with its reason", async () => {
    const { session } = await signedIn(
      {
        "GET /api/users/me/api-keys": () => [200, { api_keys: [] }],
        "POST /api/users/me/api-keys": () => [400, refusal(3, "INVALID_ARGUMENT", "roles must be a subset of yours")],
      },
      ADMIN,
    );
    render(<ApiKeysPanel session={session} />);
    fireEvent.change(screen.getByLabelText("Label"), { target: { value: "too much" } });
    fireEvent.click(screen.getByRole("button", { name: "Create key" }));
    await waitFor(() => expect(screen.getByTestId("api-key-problem")).toHaveTextContent("Refused: INVALID_ARGUMENT: roles must be a subset of yours"));
    expect(screen.queryByTestId("api-key-secret")).toBeNull();
  });
});

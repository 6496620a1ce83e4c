import { Session } from "./session";

interface Call {
  method: string;
  path: string;
  authorization: string;
  body: string;
}

/** A bridge answering by path, recording every call. */
function bridge(answers: Record<string, (call: Call) => [number, unknown]>): { fetcher: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const fetcher = async (input: RequestInfo | URL) => {
    const request = input as Request;
    const call = {
      method: request.method,
      path: new URL(request.url).pathname,
      authorization: request.headers.get("authorization") ?? "",
      body: await request.text(),
    };
    calls.push(call);
    const answer = answers[`${call.method} ${call.path}`];
    const [status, body] = answer ? answer(call) : [404, { code: 5, message: "no route" }];
    return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  };
  return { fetcher, calls };
}

const USER = { user_id: "u1", username: "demo", roles: ["ROLE_TRADER"], account_ids: ["DEMO"] };

describe("Session", () => {
  it("signs in, refreshes the access token, and signs out with the refresh token", async () => {
    let issued = 0;
    const tokens = () => {
      issued += 1;
      return [200, { access_token: `access-${issued}`, refresh_token: `refresh-${issued}`, expires_in: 900 }] as [number, unknown];
    };
    const { fetcher, calls } = bridge({
      "POST /api/users/login": tokens,
      "POST /api/users/token:refresh": tokens,
      "GET /api/users/me": () => [200, { user: USER }],
      "POST /api/users/logout": () => [200, {}],
    });
    const storage = window.sessionStorage;
    storage.clear();
    const session = new Session("http://web.test/api", storage, fetcher);

    await session.login("demo", "market-open-0930");
    expect(session.state.user?.username).toBe("demo");
    expect(session.hasRole("ROLE_TRADER")).toBe(true);
    expect(session.hasRole("ROLE_RISK_OFFICER", "ROLE_ADMIN")).toBe(false);
    expect(calls.find((call) => call.path === "/api/users/me")?.authorization).toBe("Bearer access-1");

    await session.refresh();
    expect(JSON.parse(calls.at(-1)?.body ?? "{}")).toEqual({ refresh_token: "refresh-1" });
    expect(session.token).toBe("access-2");
    expect(JSON.parse(storage.getItem("stx.session") ?? "{}")).toMatchObject({ access: "access-2", refresh: "refresh-2" });

    await session.logout();
    expect(JSON.parse(calls.at(-1)?.body ?? "{}")).toEqual({ refresh_token: "refresh-2" });
    expect(session.state.user).toBeNull();
    expect(storage.getItem("stx.session")).toBeNull();
  });

  it("ends the session with a notice when the refresh token is refused", async () => {
    const { fetcher } = bridge({
      "POST /api/users/login": () => [200, { access_token: "a", refresh_token: "r", expires_in: 900 }],
      "GET /api/users/me": () => [200, { user: USER }],
      "POST /api/users/token:refresh": () => [401, { code: 16, message: "refresh token revoked", details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "UNAUTHENTICATED" }] }],
    });
    const session = new Session("http://web.test/api", null, fetcher);
    await session.login("demo", "pw");
    await expect(session.refresh()).rejects.toMatchObject({ reason: "UNAUTHENTICATED" });
    expect(session.state.user).toBeNull();
    expect(session.state.notice).toMatch(/sign in again/);
  });

  it("refuses a wrong password with the exchange's reason", async () => {
    const { fetcher } = bridge({
      "POST /api/users/login": () => [401, { code: 16, message: "wrong username or password", details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "UNAUTHENTICATED" }] }],
    });
    const session = new Session("http://web.test/api", null, fetcher);
    await expect(session.login("demo", "nope")).rejects.toMatchObject({ reason: "UNAUTHENTICATED", message: "wrong username or password" });
    expect(session.state.tokens).toBeNull();
  });
});

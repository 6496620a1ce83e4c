/** For unit tests: a REST bridge answering by method and path, recording every call. */
import { Session } from "./api/session";
export interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  body: string;
}

export type Answer = (call: Call) => [number, unknown];

export function bridge(answers: Record<string, Answer>): { fetcher: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const fetcher = async (input: RequestInfo | URL) => {
    const request = input as Request;
    const url = new URL(request.url);
    const call = { method: request.method, path: decodeURIComponent(url.pathname), query: url.searchParams, body: await request.text() };
    calls.push(call);
    const answer = answers[`${call.method} ${call.path}`];
    const [status, body] = answer ? answer(call) : [404, { code: 5, message: "no route" }];
    return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  };
  return { fetcher, calls };
}

/** A google.rpc.Status refusal with its ErrorInfo reason. */
export function refusal(code: number, reason: string, message: string): unknown {
  return { code, message, details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason }] };
}

/** A session signed in as `user` on a bridge with `answers` (sign-in routes added). */
export async function signedIn(answers: Record<string, Answer>, user: Record<string, unknown>): Promise<{ session: Session; calls: Call[] }> {
  const { fetcher, calls } = bridge({
    "POST /api/users/login": () => [200, { access_token: "access", refresh_token: "refresh", expires_in: 900 }],
    "GET /api/users/me": () => [200, { user }],
    ...answers,
  });
  const session = new Session("http://web.test/api", null, fetcher);
  await session.login(String(user.username), "password");
  calls.length = 0;
  return { session, calls };
}

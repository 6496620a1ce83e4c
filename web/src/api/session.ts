/**
 * Who is signed in: the tokens of /users/login, kept fresh with
 * /users/token:refresh before the access token expires, and the user of
 * /users/me (roles decide the pages, account ids the trading accounts).
 * Tokens live in sessionStorage: a tab's sign-in survives a reload, not the
 * browser's closing, and is never shared with other tabs.
 */
import createClient, { type Middleware } from "openapi-fetch";
import { API_BASE_URL } from "./config";
import { ApiError, errorOf } from "./errors";
import type { paths } from "./schema";
import type { LoginResponse, Role, User } from "./types";
import { ConflatingStore } from "../lib/conflate";

const STORAGE_KEY = "stx.session";
/** Refresh when this share of the access token's life has passed. */
const REFRESH_AT = 0.75;

export interface Tokens {
  access: string;
  refresh: string;
  /** Milliseconds since the epoch when the access token expires. */
  expiresAt: number;
}

export interface SessionState {
  tokens: Tokens | null;
  user: User | null;
  /** Why the last session ended, when it was not the user's choice. */
  notice: string;
}

export type Api = ReturnType<typeof createClient<paths>>;

function tokensOf(answer: LoginResponse, now: number): Tokens {
  return {
    access: answer.access_token ?? "",
    refresh: answer.refresh_token ?? "",
    expiresAt: now + (answer.expires_in ?? 0) * 1000,
  };
}

/** Throw the exchange's refusal, or give the answer's data. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) throw errorOf(result.error, result.response.status);
  return result.data as T;
}

export class Session {
  readonly store: ConflatingStore<SessionState>;
  readonly api: Api;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private refreshing: Promise<void> | null = null;

  constructor(
    baseUrl: string = API_BASE_URL,
    private readonly storage: Storage | null = typeof sessionStorage === "undefined" ? null : sessionStorage,
    fetcher: typeof fetch = (...args) => fetch(...args),
  ) {
    this.store = new ConflatingStore<SessionState>({ tokens: null, user: null, notice: "" }, (flush) => flush());
    this.api = createClient<paths>({ baseUrl, fetch: fetcher });
    this.api.use(this.middleware());
  }

  get state(): SessionState {
    return this.store.get();
  }

  get token(): string {
    return this.state.tokens?.access ?? "";
  }

  hasRole(...roles: Role[]): boolean {
    return roles.some((role) => this.state.user?.roles?.includes(role) ?? false);
  }

  private middleware(): Middleware {
    return {
      onRequest: ({ request }) => {
        const token = this.token;
        if (token && !request.headers.has("authorization")) request.headers.set("authorization", `Bearer ${token}`);
        return request;
      },
      onResponse: async ({ request, response }) => {
        // An access token that expired in a sleeping tab: refresh once and
        // repeat a read (a write is never repeated behind the user's back).
        if (response.status !== 401 || request.method !== "GET" || !this.state.tokens) return response;
        try {
          await this.refresh();
        } catch {
          return response;
        }
        const again = new Request(request, { headers: new Headers(request.headers) });
        again.headers.set("authorization", `Bearer ${this.token}`);
        return fetch(again);
      },
    };
  }

  /** Sign in; throws ApiError (UNAUTHENTICATED, THROTTLED, ...) when refused. */
  async login(username: string, password: string): Promise<void> {
    const answer = unwrap(await this.api.POST("/users/login", { body: { username, password } }));
    this.adopt(tokensOf(answer, Date.now()));
    await this.loadUser();
  }

  async register(username: string, email: string, password: string): Promise<void> {
    unwrap(await this.api.POST("/users/register", { body: { username, email, password } }));
    await this.login(username, password);
  }

  /** Take up the session a reload left in sessionStorage, if it still refreshes. */
  async resume(): Promise<void> {
    const saved = this.storage?.getItem(STORAGE_KEY);
    if (!saved) return;
    try {
      const tokens = JSON.parse(saved) as Tokens;
      this.store.update((state) => ({ ...state, tokens }));
      await this.refresh();
      await this.loadUser();
    } catch {
      this.end("");
    }
  }

  async loadUser(): Promise<void> {
    const answer = unwrap(await this.api.GET("/users/me"));
    this.store.update((state) => ({ ...state, user: answer.user ?? null, notice: "" }));
  }

  /** A new access token from the refresh token; one at a time. */
  refresh(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    const refreshToken = this.state.tokens?.refresh;
    if (!refreshToken) return Promise.reject(new ApiError("UNAUTHENTICATED", "not signed in", 401));
    this.refreshing = (async () => {
      try {
        const answer = unwrap(
          await this.api.POST("/users/token:refresh", { body: { refresh_token: refreshToken } }),
        );
        this.adopt(tokensOf(answer, Date.now()));
      } catch (error) {
        if (error instanceof ApiError && error.reason === "UNAUTHENTICATED") {
          this.end("Your session ended: please sign in again.");
        }
        throw error;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  async logout(): Promise<void> {
    const refreshToken = this.state.tokens?.refresh;
    try {
      if (refreshToken) await this.api.POST("/users/logout", { body: { refresh_token: refreshToken } });
    } finally {
      this.end("");
    }
  }

  private adopt(tokens: Tokens): void {
    this.storage?.setItem(STORAGE_KEY, JSON.stringify(tokens));
    this.store.update((state) => ({ ...state, tokens }));
    clearTimeout(this.timer);
    const life = tokens.expiresAt - Date.now();
    if (life > 0) {
      this.timer = setTimeout(() => {
        this.refresh().catch(() => undefined);
      }, life * REFRESH_AT);
    }
  }

  private end(notice: string): void {
    clearTimeout(this.timer);
    this.storage?.removeItem(STORAGE_KEY);
    this.store.update(() => ({ tokens: null, user: null, notice }));
  }
}

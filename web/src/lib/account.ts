/**
 * The signed-in trader's side of the page, for one account: its open orders,
 * its fills, its cash, positions, buying power and P&L. Execution reports
 * arrive on /ws (REPORTS) and change the orders and fills at once; the
 * account's money is re-read over REST after reports (at most every
 * ACCOUNT_REFRESH_MS) and every ACCOUNT_POLL_MS, as positions are marked
 * to the moving market.
 */
import type { Account, ExecutionReport, Order } from "../api/types";
import { Stream, type StreamMessage } from "../api/stream";
import { unwrap, type Session } from "../api/session";
import { ConflatingStore } from "./conflate";

export const ACCOUNT_REFRESH_MS = 250;
export const ACCOUNT_POLL_MS = 2_000;
const FILLS_KEPT = 200;
const OPEN = new Set(["ORDER_STATUS_NEW", "ORDER_STATUS_PARTIALLY_FILLED", "ORDER_STATUS_PENDING_TRIGGER"]);

export interface AccountState {
  accountId: string;
  account: Account | null;
  buyingPower: string;
  /** Open orders by order id. */
  orders: Readonly<Record<string, Order>>;
  /** Fill reports, newest first. */
  fills: ExecutionReport[];
  error: string;
}

export function isFill(report: ExecutionReport): boolean {
  return report.exec_type === "EXEC_TYPE_FILL" || report.exec_type === "EXEC_TYPE_PARTIAL_FILL";
}

/** An open order as a report leaves it (null once it is closed). */
export function orderAfter(order: Order | undefined, report: ExecutionReport): Order | null {
  if (!report.order_id || report.order_id === "0" || !report.order_status) return order ?? null;
  if (!OPEN.has(report.order_status)) return null;
  return {
    ...order,
    order_id: report.order_id,
    client_order_id: report.client_order_id ?? order?.client_order_id,
    account_id: report.account_id ?? order?.account_id,
    symbol: report.symbol ?? order?.symbol,
    side: report.side ?? order?.side,
    order_type: report.order_type ?? order?.order_type,
    time_in_force: report.time_in_force ?? order?.time_in_force,
    price: report.price ?? order?.price,
    stop_price: report.stop_price ?? order?.stop_price,
    quantity: report.quantity ?? order?.quantity,
    leaves_quantity: report.leaves_quantity ?? order?.leaves_quantity,
    cum_quantity: report.cum_quantity ?? order?.cum_quantity,
    avg_price: report.avg_price ?? order?.avg_price,
    display_quantity: report.display_quantity ?? order?.display_quantity,
    status: report.order_status,
  };
}

export class AccountFeed {
  readonly store: ConflatingStore<AccountState>;
  private readonly stream: Stream;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly poll: ReturnType<typeof setInterval>;
  private closed = false;

  constructor(
    private readonly session: Session,
    accountId: string,
    socketFactory?: (url: string) => WebSocket,
  ) {
    this.store = new ConflatingStore<AccountState>({
      accountId,
      account: null,
      buyingPower: "",
      orders: {},
      fills: [],
      error: "",
    });
    this.stream = new Stream({
      subscriptions: [{ channel: "REPORTS", account_id: accountId }],
      token: () => session.token,
      onOpen: () => void this.reload(),
      onMessage: (message) => this.take(message),
      ...(socketFactory ? { socketFactory } : {}),
    });
    this.poll = setInterval(() => void this.loadAccount(), ACCOUNT_POLL_MS);
  }

  get accountId(): string {
    return this.store.get().accountId;
  }

  private take(message: StreamMessage): void {
    if (message.type === "report") {
      this.apply(message.data);
      this.soon();
    } else if (message.type === "error") {
      const reason = message.data.reason ?? "";
      this.store.update((state) => ({ ...state, error: `${reason}: ${message.data.message ?? ""}` }));
      // A stream ended by an expired token comes back with the refreshed one.
      if (reason === "UNAUTHENTICATED") this.session.refresh().then(() => this.stream.restart(), () => undefined);
      // Ended for reading too slowly: subscribe again; the new stream's
      // reload reads the orders, fills and money the gap held.
      if (reason === "SLOW_CONSUMER") this.stream.restart();
    }
  }

  /** Take in a report (from /ws, or the answer of this page's own order). */
  apply(report: ExecutionReport): void {
    this.store.update((state) => {
      let orders = state.orders;
      const id = report.order_id ?? "";
      if (id && id !== "0") {
        const next = orderAfter(orders[id], report);
        const others = Object.entries(orders).filter(([key]) => key !== id);
        orders = Object.fromEntries(next === null ? others : [...others, [id, next]]);
      }
      const seen = state.fills.some(
        (fill) => fill.report_sequence === report.report_sequence && fill.report_sequence !== "0",
      );
      const fills = isFill(report) && !seen ? [report, ...state.fills].slice(0, FILLS_KEPT) : state.fills;
      return { ...state, orders, fills };
    });
  }

  private soon(): void {
    if (this.refreshTimer !== undefined) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      void this.loadAccount();
    }, ACCOUNT_REFRESH_MS);
  }

  /** Everything again from REST: at start and after each reconnection. */
  async reload(): Promise<void> {
    await Promise.all([this.loadOrders(), this.loadFills(), this.loadAccount()]);
  }

  private async loadOrders(): Promise<void> {
    const orders: Record<string, Order> = {};
    let page = "";
    try {
      do {
        const answer = unwrap(
          await this.session.api.GET("/orders", {
            params: { query: { account_id: this.accountId, open_only: true, page_size: 500, page_token: page } },
          }),
        );
        for (const order of answer.orders ?? []) if (order.order_id) orders[order.order_id] = order;
        page = answer.next_page_token ?? "";
      } while (page && !this.closed);
      this.store.update((state) => ({ ...state, orders }));
    } catch (error) {
      this.fail(error);
    }
  }

  private async loadFills(): Promise<void> {
    try {
      // The newest page of the account's reports; fills among them, newest first.
      const answer = unwrap(
        await this.session.api.GET("/executions", { params: { query: { account_id: this.accountId, page_size: 500 } } }),
      );
      const fills = (answer.reports ?? []).filter(isFill).reverse().slice(0, FILLS_KEPT);
      this.store.update((state) => ({ ...state, fills }));
    } catch (error) {
      this.fail(error);
    }
  }

  async loadAccount(): Promise<void> {
    if (this.closed || !this.session.token) return;
    try {
      const answer = unwrap(
        await this.session.api.GET("/accounts/{account_id}", { params: { path: { account_id: this.accountId } } }),
      );
      const found = answer.account ?? null;
      this.store.update((state) => ({ ...state, account: found, buyingPower: found?.buying_power ?? "", error: "" }));
    } catch (error) {
      this.fail(error);
    }
  }

  private fail(error: unknown): void {
    const text = error instanceof Error ? error.message : String(error);
    this.store.update((state) => ({ ...state, error: text }));
  }

  close(): void {
    this.closed = true;
    clearInterval(this.poll);
    clearTimeout(this.refreshTimer);
    this.stream.close();
  }
}

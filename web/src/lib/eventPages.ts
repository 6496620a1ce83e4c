/** The order-event audit trail of a day, read incrementally for the throughput chart. */
import { unwrap, type Session } from "../api/session";
import type { OrderEvent } from "../api/types";

const EVENT_PAGE = 10_000;

/**
 * The audit trail of one day read page by page and kept: each poll re-reads
 * only its last page (which may have grown) and what follows, as the page
 * tokens name positions in the day's events.
 */
export class EventPages {
  private pages: { token: string; events: OrderEvent[] }[] = [];
  private day = "";

  constructor(
    private readonly session: Session,
    private readonly pageSize: number = EVENT_PAGE,
  ) {}

  async read(day: string): Promise<OrderEvent[]> {
    if (day !== this.day) {
      this.day = day;
      this.pages = [];
    }
    let token = this.pages.pop()?.token ?? "";
    for (;;) {
      const answer = unwrap(
        await this.session.api.GET("/analytics/order-events", { params: { query: { date: day, page_size: this.pageSize, page_token: token } } }),
      );
      this.pages.push({ token, events: answer.events ?? [] });
      const next = answer.next_page_token ?? "";
      if (next === "" || next === token) break;
      token = next;
    }
    return this.pages.flatMap((page) => page.events);
  }
}


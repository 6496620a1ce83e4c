// The execution reports that arrive on an OrderStream, and waiting for the
// one a step expects.
import type { ClientDuplexStream } from "@grpc/grpc-js";
import type { ExecutionReport, OrderStreamRequest, OrderStreamResponse } from "./api.js";

type Match = (report: ExecutionReport) => boolean;

interface Waiter {
  match: Match;
  resolve: (report: ExecutionReport) => void;
  reject: (error: Error) => void;
}

/** Every report the stream delivered, in order, and promises of reports to come. */
export class ReportLog {
  readonly reports: ExecutionReport[] = [];
  private readonly waiters = new Set<Waiter>();
  private failure: Error | undefined;

  constructor(stream: ClientDuplexStream<OrderStreamRequest, OrderStreamResponse>) {
    stream.on("data", (response: OrderStreamResponse) => {
      for (const report of response.reports) {
        this.reports.push(report);
        for (const waiter of this.waiters) {
          if (waiter.match(report)) {
            this.waiters.delete(waiter);
            waiter.resolve(report);
          }
        }
      }
    });
    stream.on("error", (error: Error) => {
      this.failure = new Error(`the order stream failed: ${error.message}`);
      for (const waiter of this.waiters) {
        waiter.reject(this.failure);
      }
      this.waiters.clear();
    });
  }

  /** The first report (already received or to come) that `match`es;
   * rejects after `seconds`, or as soon as the stream fails. */
  next(what: string, match: Match, seconds = 10): Promise<ExecutionReport> {
    const seen = this.reports.find(match);
    if (seen !== undefined) {
      return Promise.resolve(seen);
    }
    if (this.failure !== undefined) {
      return Promise.reject(this.failure);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no ${what} on the order stream within ${seconds} s`));
      }, seconds * 1000);
      const waiter: Waiter = {
        match,
        resolve: (report) => {
          clearTimeout(timer);
          resolve(report);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.waiters.add(waiter);
    });
  }

  /** The reports of `account` in arrival order. */
  of(account: string): ExecutionReport[] {
    return this.reports.filter((report) => report.accountId === account);
  }
}

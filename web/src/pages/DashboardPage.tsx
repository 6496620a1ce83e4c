/**
 * Market and performance dashboards, from the bridge's public routes: the
 * day's movers (/analytics/market-statistics), shares and trades per minute of
 * the most traded symbols (/market-data/historical), the market's trades per
 * minute, and, for risk officers and administrators, orders entered per
 * minute counted from the order-event audit trail (/analytics/order-events);
 * and the order entry of the gateway the bridge calls, per 5 s interval:
 * acknowledgements and their p50 and p99 latency (/order-entry/statistics,
 * from its stx_order_ack_seconds histogram). Everything is re-read every
 * POLL_MS.
 */
import { Alert as Notice, Box, Typography } from "@mui/material";
import { useEffect, useState } from "react";
import { ApiError } from "../api/errors";
import { unwrap, type Session } from "../api/session";
import type { Instrument } from "../api/types";
import { MoversTable } from "../components/MoversTable";
import { Panel } from "../components/Panel";
import { SeriesChart } from "../components/SeriesChart";
import { EventPages } from "../lib/eventPages";
import { activityOf, entryRate, movers, orderEntrySeries, summed, utcDay, type Mover, type Point } from "../lib/dashboard";

export const POLL_MS = 5_000;
/** The symbols drawn per chart: the most traded ones. */
const CHARTED = 6;
/** The instruments whose bars are read (the market's trades per minute is their sum). */
const BARRED = 50;
/** How far back the per-minute charts reach. */
const WINDOW_MS = 2 * 3600 * 1000;

interface View {
  movers: Mover[];
  volume: Map<string, Point[]>;
  trades: Map<string, Point[]>;
  throughput: Map<string, Point[]>;
  /** The gateway's acknowledgements per interval. */
  entry: Map<string, Point[]>;
  /** Their p50 and p99, in microseconds. */
  latency: Map<string, Point[]>;
  /** The gateway's interval, in seconds. */
  interval: number;
}

const EMPTY: View = { movers: [], volume: new Map(), trades: new Map(), throughput: new Map(), entry: new Map(), latency: new Map(), interval: 0 };

export function DashboardPage({ session, instruments }: { session: Session; instruments: Instrument[] }) {
  const [view, setView] = useState<View>(EMPTY);
  const [problem, setProblem] = useState("");
  const privileged = session.hasRole("ROLE_RISK_OFFICER", "ROLE_ADMIN");
  useEffect(() => {
    let stopped = false;
    const events = privileged ? new EventPages(session) : null;
    const load = async () => {
      const day = utcDay();
      const statistics = unwrap(await session.api.GET("/analytics/market-statistics", { params: { query: { date: day } } }));
      const ranked = movers(statistics.symbols ?? [], instruments);
      const start = new Date(Date.now() - WINDOW_MS).toISOString();
      // The bars come from the market-data store, which follows the engine
      // closely; the statistics from the analytics process, which may lag:
      // the charts rank symbols by their own bars' volume.
      const activity = await Promise.all(
        instruments.slice(0, BARRED).map(async (instrument) => {
          const symbol = instrument.symbol ?? "";
          const answer = unwrap(
            await session.api.GET("/market-data/historical", {
              params: { query: { symbol, interval: "BAR_INTERVAL_1M", start_time: start, page_size: 5000 } },
            }),
          );
          return [symbol, activityOf(answer.bars ?? [])] as const;
        }),
      );
      const shares = (series: { volume: Point[] }) => series.volume.reduce((total, point) => total + point.value, 0);
      const busiest = activity.filter(([, series]) => shares(series) > 0).sort((a, b) => shares(b[1]) - shares(a[1])).slice(0, CHARTED);
      const throughput = new Map<string, Point[]>([["trades", summed(activity.map(([, series]) => series.trades))]]);
      if (events) {
        const since = Date.now() / 1000 - WINDOW_MS / 1000;
        throughput.set("orders entered", entryRate(await events.read(day), 60).filter((point) => point.time >= since));
      }
      const orderEntry = unwrap(await session.api.GET("/order-entry/statistics", {}));
      const entry = orderEntrySeries(orderEntry.intervals ?? []);
      if (stopped) return;
      setView({
        entry: new Map([["acknowledged", entry.throughput]]),
        latency: new Map([["p50", entry.p50], ["p99", entry.p99]]),
        interval: orderEntry.interval_seconds ?? 0,
        movers: ranked,
        volume: new Map(busiest.map(([symbol, series]) => [symbol, series.volume])),
        trades: new Map(busiest.map(([symbol, series]) => [symbol, series.trades])),
        throughput,
      });
      setProblem("");
    };
    const poll = () =>
      void load().catch((error: unknown) => {
        if (!stopped) setProblem(error instanceof ApiError ? `Refused: ${error.display}` : String(error));
      });
    poll();
    const timer = setInterval(poll, POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [session, instruments, privileged]);
  return (
    <Box sx={{ p: 1, display: "flex", flexDirection: "column", gap: 1 }}>
      {problem && <Notice severity="error">{problem}</Notice>}
      <Panel title={`Top movers · ${utcDay()} UTC`} label="top movers panel">
        <MoversTable rows={view.movers} instruments={instruments} />
      </Panel>
      <Box sx={{ display: "flex", gap: 1, flexWrap: "wrap" }}>
        <SeriesChart title="Volume per minute (shares)" label="volume" series={view.volume} />
        <SeriesChart title="Trades per minute" label="trades" series={view.trades} />
      </Box>
      <Box sx={{ display: "flex", gap: 1, flexWrap: "wrap" }}>
        <SeriesChart title={privileged ? "Throughput per minute: trades and orders entered" : "Throughput: trades per minute"} label="throughput" series={view.throughput} />
      </Box>
      <Box sx={{ display: "flex", gap: 1, flexWrap: "wrap" }}>
        <SeriesChart title={`Order entry: acknowledgements per ${view.interval || "…"} s`} label="order-entry" series={view.entry} />
        <SeriesChart title="Order-entry latency in microseconds: p50 and p99" label="order-entry-latency" series={view.latency} />
      </Box>
      <Typography variant="caption" color="text.secondary">
        Order entry is that of the gateway process the REST bridge calls, since its start (half an hour at most): every PlaceOrder call and OrderStream message it acknowledged, timed from arrival to acknowledgement (stx_order_ack_seconds; docs/observability.md).
      </Typography>
    </Box>
  );
}

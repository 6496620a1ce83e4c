/**
 * Reports: a day's reports downloaded as CSV files through the REST bridge.
 * A trader gets its own accounts' trades, P&L and order statistics; a risk
 * officer or administrator also the compliance files (docs/compliance.md).
 * PDFs and Parquet are `stx report`'s (rendered on the client from the same
 * data, so the analytics process stays lean).
 */
import { Alert, Box, Button, MenuItem, Select, Stack, TextField, Typography } from "@mui/material";
import { useState } from "react";
import { unwrap, type Session } from "../api/session";
import { allPages, toCsv, type Column, type Row } from "../lib/reportCsv";

/** Hands a finished file to the user (a browser download; a fake in tests). */
export type Save = (name: string, text: string) => void;

function browserSave(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.click();
  URL.revokeObjectURL(url);
}

const TRADES: Column[] = ["transact_time", "trade_id:n", "symbol", "side", "quantity:n", "price:m", "notional", "order_id:n", "client_order_id", "liquidity", "report_sequence:n"];
const PNL: Column[] = ["symbol", "opening_quantity:n", "bought_quantity:n", "sold_quantity:n", "closing_quantity:n", "average_cost:m", "closing_price:m", "realized_pnl:m", "unrealized_pnl:m", "fees:m"];
const ORDERS: Column[] = ["symbol", "order_count:n", "rejected_count:n", "filled_count:n", "canceled_count:n", "ordered_quantity:n", "filled_quantity:n", "fill_count:n", "fill_ratio", "order_to_trade_ratio", "cancel_rate", "average_fill_micros:n", "arrival_slippage_bps", "vwap_slippage_bps", "arrival_priced_quantity:n"];
const EVENTS: Column[] = ["event_time", "sequence:n", "account_id", "report_sequence:n", "exec_type", "order_status", "order_id:n", "client_order_id", "client_request_id", "symbol", "side", "order_type", "time_in_force", "price:m", "stop_price:m", "quantity:n", "leaves_quantity:n", "cum_quantity:n", "last_price:m", "last_quantity:n", "trade_id:n", "reject_reason", "cancel_reason", "sender_user_id", "sender_source", "sender_gateway"];
const TRANSACTIONS: Column[] = ["transaction_reference", "venue_transaction_id:n", "execution_time", "symbol", "price:m", "quantity:n", "notional", "side", "account_id", "counterparty_account_id", "decision_user_id", "order_id:n", "client_order_id", "liquidity", "sequence:n"];
const VENUES: Column[] = ["account_id", "instrument_class", "below_one_trade_per_business_day:b", "volume_percentage", "order_percentage", "passive_percentage", "aggressive_percentage", "trade_count:n", "execution_count:n", "order_count:n", "volume:n", "notional", "passive_count:n", "aggressive_count:n", "auction_count:n", "business_days:n"];
const LATENCY: Column[] = ["start_time", "command_count:n", "p50_nanos:n", "p90_nanos:n", "p99_nanos:n", "max_nanos:n"];
const QUALITY: Column[] = ["symbol", "trade_count:n", "volume:n", "notional", "vwap:m", "average_trade_size", "order_count:n", "average_order_size", "rejected_count:n", "filled_count:n", "canceled_count:n", "fill_ratio", "execution_likelihood", "cancel_ratio", "average_fill_micros:n", "two_sided_arrivals:n", "average_spread:m", "average_spread_bps", "average_bid_quantity", "average_ask_quantity"];

interface Download {
  name: string;
  label: string;
  make: (session: Session, date: string, account: string) => Promise<string>;
}

const ACCOUNT_REPORTS: Download[] = [
  {
    name: "trades",
    label: "Trades",
    make: async (session, date, account) => {
      const pages = await allPages(async (token) =>
        unwrap(await session.api.GET("/analytics/accounts/{account_id}/trades", { params: { path: { account_id: account }, query: { date, page_token: token || undefined } } })),
      );
      return toCsv(TRADES, pages.flatMap((page) => (page.fills ?? []) as Row[]));
    },
  },
  {
    name: "pnl",
    label: "Profit and loss",
    make: async (session, date, account) => {
      const statement = unwrap(await session.api.GET("/analytics/accounts/{account_id}/pnl", { params: { path: { account_id: account }, query: { date } } }));
      const total: Row = { symbol: "TOTAL", realized_pnl: statement.realized_pnl, unrealized_pnl: statement.unrealized_pnl, fees: statement.fees };
      return toCsv(PNL, [...((statement.positions ?? []) as Row[]), total]);
    },
  },
  {
    name: "orders",
    label: "Order statistics",
    make: async (session, date, account) => {
      const statistics = unwrap(await session.api.GET("/analytics/accounts/{account_id}/order-statistics", { params: { path: { account_id: account }, query: { date } } }));
      return toCsv(ORDERS, [...((statistics.symbols ?? []) as Row[]), { ...(statistics.total as Row), symbol: "TOTAL" }]);
    },
  },
];

const COMPLIANCE_REPORTS: Download[] = [
  {
    name: "cat",
    label: "Order-event audit trail (CAT)",
    make: async (session, date) => {
      const pages = await allPages(async (token) => unwrap(await session.api.GET("/analytics/order-events", { params: { query: { date, page_token: token || undefined } } })));
      return toCsv(EVENTS, pages.flatMap((page) => (page.events ?? []) as Row[]));
    },
  },
  {
    name: "rts22",
    label: "Transaction reports (RTS 22)",
    make: async (session, date) => {
      const pages = await allPages(async (token) =>
        unwrap(await session.api.GET("/analytics/compliance/transactions", { params: { query: { date, page_token: token || undefined } } })),
      );
      return toCsv(TRANSACTIONS, pages.flatMap((page) => (page.reports ?? []) as Row[]));
    },
  },
  {
    name: "rts25",
    label: "Clock synchronisation (RTS 25)",
    make: async (session, date) => {
      const facts = unwrap(await session.api.GET("/analytics/compliance/clock", { params: { query: { date } } })) as Row;
      return toCsv(["fact", "value"], Object.keys(facts).map((fact) => ({ fact, value: facts[fact] })));
    },
  },
  {
    name: "rts27",
    label: "Execution quality (RTS 27)",
    make: async (session, date) => {
      const summary = unwrap(await session.api.GET("/analytics/compliance/execution-quality", { params: { query: { date } } }));
      return toCsv(QUALITY, summary.symbols ?? []);
    },
  },
  {
    name: "rts28",
    label: "Execution venues (RTS 28, the year to the day)",
    make: async (session, date) => {
      const query = { from_date: `${date.slice(0, 4)}-01-01`, to_date: date };
      const summary = unwrap(await session.api.GET("/analytics/compliance/execution-venues", { params: { query } }));
      return toCsv(VENUES, summary.summaries ?? []);
    },
  },
  {
    name: "latency",
    label: "Latency per 5 minutes",
    make: async (session, date) => {
      const answer = unwrap(await session.api.GET("/analytics/latency", { params: { query: { date } } }));
      return toCsv(LATENCY, answer.intervals ?? []);
    },
  },
];

export function ReportsPage({ session, save = browserSave }: { session: Session; save?: Save }) {
  const accounts = session.state.user?.account_ids ?? [];
  const compliance = session.hasRole("ROLE_RISK_OFFICER", "ROLE_ADMIN");
  const [date, setDate] = useState(() => new Date().toISOString().slice(0, 10));
  const [account, setAccount] = useState(accounts[0] ?? "");
  const [problem, setProblem] = useState("");
  const [busy, setBusy] = useState("");
  const download = async (report: Download) => {
    setProblem("");
    setBusy(report.name);
    try {
      const text = await report.make(session, date, account);
      const whose = ACCOUNT_REPORTS.includes(report) ? `${account}-` : "";
      save(`${report.name}-${whose}${date}.csv`, text);
    } catch (failure) {
      setProblem(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy("");
    }
  };
  const buttons = (reports: Download[], disabled: boolean) => (
    <Stack direction="row" spacing={1} sx={{ flexWrap: "wrap" }}>
      {reports.map((report) => (
        <Button key={report.name} variant="outlined" disabled={disabled || busy !== ""} onClick={() => void download(report)}>
          {report.label}
        </Button>
      ))}
    </Stack>
  );
  return (
    <Box sx={{ p: 2, display: "grid", gap: 2, maxWidth: 960 }}>
      <Stack direction="row" spacing={2} sx={{ alignItems: "center" }}>
        <TextField size="small" type="date" label="Day (UTC)" value={date} onChange={(event) => setDate(event.target.value)} slotProps={{ inputLabel: { shrink: true } }} />
        {accounts.length > 0 && (
          <Select size="small" value={account} onChange={(event) => setAccount(event.target.value)} aria-label="report account">
            {accounts.map((name) => <MenuItem key={name} value={name}>{name}</MenuItem>)}
          </Select>
        )}
      </Stack>
      {problem && <Alert severity="error" data-testid="report-problem">{problem}</Alert>}
      {accounts.length > 0 && (
        <Box>
          <Typography variant="subtitle1">Account reports (CSV)</Typography>
          {buttons(ACCOUNT_REPORTS, !account)}
        </Box>
      )}
      {compliance && (
        <Box>
          <Typography variant="subtitle1">Compliance files (CSV)</Typography>
          {buttons(COMPLIANCE_REPORTS, false)}
        </Box>
      )}
      <Typography variant="body2" color="text.secondary">
        PDF documents with charts and Parquet files: <code>stx report ... --out report.pdf</code> (docs/compliance.md).
      </Typography>
    </Box>
  );
}

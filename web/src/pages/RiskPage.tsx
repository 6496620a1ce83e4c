/**
 * The risk officer's page: trading phases with halt and resume per symbol
 * and market-wide, an account's money and kill switch, and the surveillance
 * alerts with their evidence and review status, live: read once, then kept
 * up by the /ws ALERTS stream (lib/alerts.ts), each with its review action.
 */
import { Alert as Notice, Box, Button, Table, TableBody, TableCell, TableHead, TableRow, TextField, Typography } from "@mui/material";
import { useCallback, useEffect, useMemo, useState, useSyncExternalStore } from "react";
import { ApiError } from "../api/errors";
import { unwrap, type Session } from "../api/session";
import type { Account, AccountRisk, Alert, Instrument } from "../api/types";
import { AlertFeed } from "../lib/alerts";
import { AccountsOverview } from "../components/AccountsOverview";
import { AlertReview, statusLabel } from "../components/AlertReview";
import { LimitsEditor } from "../components/LimitsEditor";
import { Num } from "../components/Num";
import { Panel } from "../components/Panel";
import { formatMoney } from "../lib/decimal";

/** Trading phases are re-read this often: a circuit breaker or a volatility
 * pause changes them without anyone on this page asking. */
const PHASE_POLL_MS = 3_000;

/** Ids shown per list: an alert may name up to 100 (`max_evidence_ids`). */
const IDS_SHOWN = 8;

function ids(list: readonly string[]): string {
  const more = list.length - IDS_SHOWN;
  return list.slice(0, IDS_SHOWN).join(",") + (more > 0 ? ` +${more}` : "");
}

/** An alert's evidence in one line: the orders and trades it names, then its details. */
function evidenceOf(alert: Alert): string {
  const evidence = alert.evidence ?? {};
  const parts = [];
  if (evidence.order_ids?.length) parts.push(`orders ${ids(evidence.order_ids)}`);
  if (evidence.trade_ids?.length) parts.push(`trades ${ids(evidence.trade_ids)}`);
  for (const [key, value] of Object.entries(evidence.details ?? {})) parts.push(`${key}=${value}`);
  return parts.join(" · ");
}

/** An alert's last review in one line, for the status cell's tooltip. */
function reviewOf(alert: Alert): string {
  if (!alert.review_count) return "never reviewed";
  const when = alert.review_time?.slice(0, 19).replace("T", " ") ?? "";
  return `${alert.review_count} review(s); last by ${alert.reviewer_user_id ?? ""} at ${when}: ${alert.review_note ?? ""}`;
}

function describe(error: unknown): string {
  return error instanceof ApiError ? `Refused: ${error.display}` : String(error);
}

export function RiskPage({ session, instruments: initial }: { session: Session; instruments: Instrument[] }) {
  const [instruments, setInstruments] = useState(initial);
  const [reason, setReason] = useState("risk desk");
  const [accountId, setAccountId] = useState("");
  const [account, setAccount] = useState<Account | null>(null);
  const [risk, setRisk] = useState<AccountRisk | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);

  const loadInstruments = useCallback(async () => {
    const answer = unwrap(await session.api.GET("/instruments", { params: { query: { page_size: 1000 } } }));
    setInstruments(answer.instruments ?? []);
  }, [session]);

  useEffect(() => {
    const timer = setInterval(() => void loadInstruments().catch(() => undefined), PHASE_POLL_MS);
    return () => clearInterval(timer);
  }, [loadInstruments]);

  const feed = useMemo(() => new AlertFeed(session), [session]);
  useEffect(() => () => feed.close(), [feed]);
  const { alerts, live, error: alertsError } = useSyncExternalStore(feed.store.subscribe, feed.store.get);

  const act = async (work: () => Promise<string>) => {
    setMessage(null);
    try {
      setMessage({ ok: true, text: await work() });
    } catch (error) {
      setMessage({ ok: false, text: describe(error) });
    }
  };

  const halt = (symbol: string, resume: boolean) =>
    act(async () => {
      const path = resume ? "/risk/trading:resume" : "/risk/trading:halt";
      const answer = unwrap(await session.api.POST(path, { body: { symbol, reason } }));
      await loadInstruments();
      return `${resume ? "Resumed" : "Halted"}: ${(answer.symbols ?? []).join(", ") || "none"}`;
    });

  const loadAccount = async () => {
      const answer = unwrap(await session.api.GET("/accounts/{account_id}", { params: { path: { account_id: accountId } } }));
      const found = answer.account ?? null;
      setAccount(found);
      setRisk(null);
      if (found?.user_id) {
        const limits = unwrap(await session.api.GET("/risk/{user_id}", { params: { path: { user_id: found.user_id } } }));
        setRisk(limits.accounts?.find((entry) => entry.account_id === accountId) ?? null);
      }
  };

  const lookUp = () =>
    act(async () => {
      await loadAccount();
      return `Account ${accountId}`;
    });

  const killSwitch = (activate: boolean) =>
    act(async () => {
      const body = { account_id: accountId, reason };
      let accounts: string[];
      let canceled = "";
      if (activate) {
        const answer = unwrap(await session.api.POST("/risk/kill-switch:activate", { body }));
        accounts = answer.account_ids ?? [];
        canceled = `, ${answer.canceled_order_count ?? "0"} orders canceled`;
      } else {
        accounts = unwrap(await session.api.POST("/risk/kill-switch:reset", { body })).account_ids ?? [];
      }
      const found = unwrap(await session.api.GET("/accounts/{account_id}", { params: { path: { account_id: accountId } } }));
      setAccount(found.account ?? null);
      return `Kill switch ${activate ? "on" : "off"}: ${accounts.join(", ")}${canceled}`;
    });

  return (
    <Box sx={{ display: "grid", gap: 1, p: 1, gridTemplateColumns: "1fr 1fr" }}>
      <Box sx={{ gridColumn: "1 / -1", display: "flex", gap: 1, alignItems: "center" }}>
        <TextField size="small" label="Reason (audit log)" value={reason} onChange={(event) => setReason(event.target.value)} sx={{ width: 320 }} />
        {message && <Notice severity={message.ok ? "success" : "error"} role={message.ok ? "status" : "alert"} sx={{ py: 0 }}>{message.text}</Notice>}
      </Box>
      <Panel title="Trading phases and halts" action={
        <Box>
          <Button size="small" color="error" onClick={() => void halt("", false)}>Halt market</Button>
          <Button size="small" onClick={() => void halt("", true)}>Resume market</Button>
        </Box>
      }>
        <Table size="small" padding="none" aria-label="phases" sx={{ "& td, & th": { px: 0.75, py: 0.1 } }}>
          <TableHead>
            <TableRow><TableCell>Symbol</TableCell><TableCell>Phase</TableCell><TableCell /></TableRow>
          </TableHead>
          <TableBody>
            {instruments.map((instrument) => (
              <TableRow key={instrument.symbol} data-phase-symbol={instrument.symbol}>
                <TableCell>{instrument.symbol}</TableCell>
                <TableCell sx={{ color: instrument.trading_phase === "TRADING_PHASE_HALTED" ? "error.main" : undefined }}>
                  {instrument.trading_phase?.replace("TRADING_PHASE_", "")}
                </TableCell>
                <TableCell align="right">
                  <Button size="small" color="error" onClick={() => void halt(instrument.symbol ?? "", false)}>Halt</Button>
                  <Button size="small" onClick={() => void halt(instrument.symbol ?? "", true)}>Resume</Button>
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </Panel>
      <Box sx={{ gridColumn: "1 / -1" }}>
        <AccountsOverview session={session} />
      </Box>
      <Panel title="Account and kill switch">
        <Box sx={{ display: "flex", gap: 1, mb: 1 }}>
          <TextField size="small" label="Account" value={accountId} onChange={(event) => setAccountId(event.target.value.toUpperCase())} />
          <Button onClick={() => void lookUp()} disabled={!accountId}>Look up</Button>
          <Button color="error" variant="contained" onClick={() => void killSwitch(true)} disabled={!accountId}>Kill</Button>
          <Button onClick={() => void killSwitch(false)} disabled={!accountId}>Reset</Button>
        </Box>
        {account && (
          <Typography variant="body2" data-testid="risk-account">
            {account.account_id}: cash {formatMoney(account.cash_balance)}, buying power {formatMoney(account.buying_power)},
            {" "}{account.positions?.length ?? 0} positions, kill switch {account.kill_switch_active ? "ON" : "off"}
          </Typography>
        )}
        {risk && (
          <LimitsEditor
            key={`${risk.account_id ?? ""}-${JSON.stringify(risk.limits)}`}
            session={session}
            risk={risk}
            reason={reason}
            onSaved={(text) => { setMessage({ ok: true, text }); void loadAccount().catch((error: unknown) => setMessage({ ok: false, text: describe(error) })); }}
            onError={(error) => setMessage({ ok: false, text: describe(error) })}
          />
        )}
      </Panel>
      <Panel title={`Surveillance alerts (${alerts.length})`} label="surveillance alerts" sx={{ gridColumn: "1 / -1" }} action={
        <Typography variant="caption" data-testid="alerts-live" data-live={live} color={live ? "success.main" : "warning.main"}>
          {live ? "live" : "connecting…"}
        </Typography>
      }>
        {alertsError && <Notice severity="warning" sx={{ py: 0 }}>{alertsError}</Notice>}
        <Table size="small" padding="none" aria-label="alerts" sx={{ "& td, & th": { px: 0.75, py: 0.1 } }}>
          <TableHead>
            <TableRow>
              <TableCell>Time</TableCell><TableCell>Severity</TableCell><TableCell>Kind</TableCell><TableCell>Account</TableCell>
              <TableCell>Symbol</TableCell><TableCell>Description</TableCell><TableCell align="right">Orders</TableCell><TableCell align="right">Trades</TableCell><TableCell>Evidence</TableCell>
              <TableCell>Status</TableCell><TableCell>Review</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {alerts.map((alert) => (
              <TableRow key={alert.alert_id} data-alert-id={alert.alert_id} data-alert-kind={alert.kind} data-alert-account={alert.account_id}>
                <Num sx={{ textAlign: "left" }}>{alert.create_time?.slice(0, 19).replace("T", " ")}</Num>
                <TableCell>{alert.severity?.replace("ALERT_SEVERITY_", "")}</TableCell>
                <TableCell>{alert.kind?.replace("ALERT_KIND_", "")}</TableCell>
                <TableCell>{alert.account_id}</TableCell>
                <TableCell>{alert.symbol}</TableCell>
                <TableCell>{alert.description}</TableCell>
                <Num>{alert.evidence?.order_ids?.length ?? 0}</Num>
                <Num>{alert.evidence?.trade_ids?.length ?? 0}</Num>
                <TableCell sx={{ fontSize: 11 }} data-testid="alert-evidence">{evidenceOf(alert)}</TableCell>
                <TableCell data-testid="alert-status" title={reviewOf(alert)}>{statusLabel(alert.status)}</TableCell>
                <TableCell>
                  <AlertReview key={`${alert.alert_id ?? ""}-${alert.review_count ?? 0}`} session={session} alert={alert} onReviewed={(reviewed) => feed.accept(reviewed)} />
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </Panel>
    </Box>
  );
}

/**
 * The administrator's page: the users (create, roles, disable and enable),
 * every account with cash, limits and usage, the audit logs with their
 * verification, the user's own API keys, an account looked up by id and
 * funded (credit or debit with a reason), and the order-event audit trail.
 */
import { Alert as Notice, Box, Button, Table, TableBody, TableCell, TableHead, TableRow, TextField, Typography } from "@mui/material";
import { useState } from "react";
import { ApiError } from "../api/errors";
import { unwrap, type Session } from "../api/session";
import type { Account } from "../api/types";
import { AccountsOverview } from "../components/AccountsOverview";
import { ApiKeysPanel } from "../components/ApiKeysPanel";
import { AuditPanel } from "../components/AuditPanel";
import { Num } from "../components/Num";
import { OrderEventsPanel } from "../components/OrderEventsPanel";
import { Panel } from "../components/Panel";
import { UsersPanel } from "../components/UsersPanel";
import { formatMoney, formatQuantity, parseFixed } from "../lib/decimal";

function describe(error: unknown): string {
  return error instanceof ApiError ? `Refused: ${error.display}` : String(error);
}

function AccountFunding({ session }: { session: Session }) {
  const [accountId, setAccountId] = useState("");
  const [account, setAccount] = useState<Account | null>(null);
  const [amount, setAmount] = useState("");
  const [reason, setReason] = useState("");
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);

  const look = async (id: string) => {
    const answer = unwrap(await session.api.GET("/accounts/{account_id}", { params: { path: { account_id: id } } }));
    setAccount(answer.account ?? null);
  };

  const find = async () => {
    setMessage(null);
    setAccount(null);
    if (accountId.trim() === "") {
      setMessage({ ok: false, text: "Name the account." });
      return;
    }
    try {
      await look(accountId.trim());
    } catch (error) {
      setMessage({ ok: false, text: describe(error) });
    }
  };

  const fund = async () => {
    setMessage(null);
    const id = account?.account_id ?? "";
    const value = parseFixed(amount.trim());
    if (value === null || value === 0n) {
      setMessage({ ok: false, text: "The amount is a non-zero decimal with at most 4 decimals (negative debits)." });
      return;
    }
    if (reason.trim() === "") {
      setMessage({ ok: false, text: "Give a reason: it is kept with the funding." });
      return;
    }
    try {
      unwrap(await session.api.POST("/accounts/{account_id}:fund", { params: { path: { account_id: id } }, body: { account_id: id, amount: amount.trim(), reason: reason.trim() } }));
      await look(id);
      setMessage({ ok: true, text: `Funded ${id} with ${amount.trim()}` });
      setAmount("");
    } catch (error) {
      setMessage({ ok: false, text: describe(error) });
    }
  };

  return (
    <Panel title="Accounts" label="accounts">
      <Box component="form" sx={{ display: "flex", gap: 1, mb: 1, pt: 1 }} onSubmit={(event) => { event.preventDefault(); void find(); }}>
        <TextField size="small" label="Account id" value={accountId} onChange={(event) => setAccountId(event.target.value)} />
        <Button type="submit" variant="outlined" size="small">Look up</Button>
      </Box>
      {message && <Notice severity={message.ok ? "success" : "error"} data-testid="account-message">{message.text}</Notice>}
      {account && (
        <>
          <Box sx={{ overflowX: "auto" }}>
          <Table size="small" aria-label="account">
            <TableHead>
              <TableRow>
                <TableCell>Account</TableCell>
                <TableCell>Owner</TableCell>
                <Num>Cash</Num>
                <Num>Buying power</Num>
                <Num>Realized</Num>
                <Num>Unrealized</Num>
                <Num>Positions</Num>
                <TableCell>Kill switch</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              <TableRow>
                <TableCell>{account.account_id}</TableCell>
                <TableCell sx={{ fontFamily: "monospace" }}>{account.user_id}</TableCell>
                <Num data-testid="account-cash">{formatMoney(account.cash_balance)}</Num>
                <Num>{formatMoney(account.buying_power)}</Num>
                <Num>{formatMoney(account.realized_pnl)}</Num>
                <Num>{formatMoney(account.unrealized_pnl)}</Num>
                <Num>{formatQuantity(String(account.positions?.length ?? 0))}</Num>
                <TableCell>{account.kill_switch_active ? "active" : "off"}</TableCell>
              </TableRow>
            </TableBody>
          </Table>
          </Box>
          <Box component="form" sx={{ display: "flex", gap: 1, mt: 1, pt: 1 }} onSubmit={(event) => { event.preventDefault(); void fund(); }}>
            <TextField size="small" label="Amount" value={amount} onChange={(event) => setAmount(event.target.value)} />
            <TextField size="small" label="Reason" value={reason} onChange={(event) => setReason(event.target.value)} />
            <Button type="submit" variant="contained" size="small">Fund</Button>
          </Box>
        </>
      )}
    </Panel>
  );
}

export function AdminPage({ session }: { session: Session }) {
  return (
    <Box sx={{ p: 1, display: "flex", flexDirection: "column", gap: 1 }}>
      <UsersPanel session={session} />
      <AccountsOverview session={session} />
      <AuditPanel session={session} />
      <Box sx={{ display: "flex", gap: 1, flexWrap: "wrap", alignItems: "flex-start" }}>
        <Box sx={{ flex: 2, minWidth: 520 }}>
          <ApiKeysPanel session={session} />
        </Box>
        <Box sx={{ flex: 1, minWidth: 420 }}>
          <AccountFunding session={session} />
        </Box>
      </Box>
      <OrderEventsPanel session={session} />
      <Typography variant="caption" color="text.secondary">
        Risk limits, kill switches and halts are on the Risk page.
      </Typography>
    </Box>
  );
}

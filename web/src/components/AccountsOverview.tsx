/**
 * Every account the exchange knows (/admin/accounts, paged by id): its owner,
 * cash and buying power, and each risk limit beside what the account uses of
 * it now ("—" for a limit that is not set: no limit).
 */
import { Alert as Notice, Box, Button, Table, TableBody, TableCell, TableHead, TableRow } from "@mui/material";
import { useEffect, useState } from "react";
import { ApiError } from "../api/errors";
import { unwrap, type Session } from "../api/session";
import type { AccountSummary } from "../api/types";
import { formatMoney, formatQuantity } from "../lib/decimal";
import { Num } from "./Num";
import { Panel } from "./Panel";

function describe(error: unknown): string {
  return error instanceof ApiError ? `Refused: ${error.display}` : String(error);
}

/** "used / limit", the limit "—" when none is set. */
function usage(used: string | number | undefined, limit: string | number | undefined): string {
  return `${formatQuantity(String(used ?? 0))} / ${limit === undefined ? "—" : formatQuantity(String(limit))}`;
}

export function AccountsOverview({ session }: { session: Session }) {
  const [accounts, setAccounts] = useState<AccountSummary[]>([]);
  const [next, setNext] = useState("");
  const [problem, setProblem] = useState("");
  const [version, setVersion] = useState(0);

  useEffect(() => {
    let stopped = false;
    const load = async () => {
      try {
        const answer = unwrap(await session.api.GET("/admin/accounts", { params: { query: { page_size: 50 } } }));
        if (!stopped) {
          setAccounts(answer.accounts ?? []);
          setNext(answer.next_page_token ?? "");
          setProblem("");
        }
      } catch (error) {
        if (!stopped) setProblem(describe(error));
      }
    };
    void load();
    return () => {
      stopped = true;
    };
  }, [session, version]);

  const more = async () => {
    try {
      const answer = unwrap(await session.api.GET("/admin/accounts", { params: { query: { page_size: 50, page_token: next } } }));
      setAccounts((shown) => [...shown, ...(answer.accounts ?? [])]);
      setNext(answer.next_page_token ?? "");
    } catch (error) {
      setProblem(describe(error));
    }
  };

  return (
    <Panel title="All accounts" label="all accounts" action={<Button size="small" onClick={() => setVersion((count) => count + 1)}>Refresh</Button>}>
      {problem && <Notice severity="error" data-testid="accounts-problem">{problem}</Notice>}
      <Box sx={{ overflowX: "auto" }}>
        <Table size="small" aria-label="account list">
          <TableHead>
            <TableRow>
              <TableCell>Account</TableCell>
              <TableCell>Owner</TableCell>
              <Num>Cash</Num>
              <Num>Buying power</Num>
              <Num>Open orders / max</Num>
              <Num>Msgs/s / max</Num>
              <Num>Largest position / max</Num>
              <Num>Max order qty</Num>
              <Num>Max notional</Num>
              <TableCell>Short</TableCell>
              <TableCell>Kill switch</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {accounts.map(({ account, username, risk }) => {
              const limits = risk?.limits ?? {};
              const used = risk?.usage ?? {};
              return (
                <TableRow key={account?.account_id} data-account={account?.account_id}>
                  <TableCell>{account?.account_id}</TableCell>
                  <TableCell>{username || "—"}</TableCell>
                  <Num data-testid="account-row-cash">{formatMoney(account?.cash_balance)}</Num>
                  <Num>{formatMoney(account?.buying_power)}</Num>
                  <Num>{usage(used.open_orders, limits.max_open_orders)}</Num>
                  <Num>{usage(used.messages_last_second, limits.max_messages_per_second)}</Num>
                  <Num>{usage(used.largest_position_quantity, limits.max_position_quantity)}</Num>
                  <Num>{limits.max_order_quantity === undefined ? "—" : formatQuantity(limits.max_order_quantity)}</Num>
                  <Num>{limits.max_order_notional === undefined ? "—" : formatMoney(limits.max_order_notional)}</Num>
                  <TableCell>{limits.allow_short_selling ? "yes" : "no"}</TableCell>
                  <TableCell>{risk?.kill_switch_active ? `active: ${risk.kill_switch_reason ?? ""}` : "off"}</TableCell>
                </TableRow>
              );
            })}
          </TableBody>
        </Table>
      </Box>
      {next && (
        <Button size="small" onClick={() => void more()}>More accounts</Button>
      )}
    </Panel>
  );
}

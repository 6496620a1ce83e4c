/**
 * The trading screen: instruments, chart, ladder and tape of the chosen one,
 * the order ticket, the account, and the account's open orders and fills.
 */
import { Alert, Box, Tab, Tabs } from "@mui/material";
import { useEffect, useMemo, useState, useSyncExternalStore } from "react";
import type { Session } from "../api/session";
import type { Instrument } from "../api/types";
import { AccountPanel } from "../components/AccountPanel";
import { DepthLadder } from "../components/DepthLadder";
import { FillsTable } from "../components/FillsTable";
import { InstrumentList } from "../components/InstrumentList";
import { OrdersTable } from "../components/OrdersTable";
import { OrderTicket } from "../components/OrderTicket";
import { Panel } from "../components/Panel";
import { PriceChart } from "../components/PriceChart";
import { TradeTape } from "../components/TradeTape";
import { AccountFeed } from "../lib/account";
import { decimalsOfTick } from "../lib/decimal";
import { QuotesFeed, SymbolFeed } from "../lib/market";

export function TradingPage({ session, instruments, accountId, canTrade }: {
  session: Session;
  instruments: Instrument[];
  accountId: string;
  canTrade: boolean;
}) {
  const [symbol, setSymbol] = useState(instruments[0]?.symbol ?? "");
  const [bottom, setBottom] = useState(0);
  const [picked, setPicked] = useState<{ price: bigint; at: number } | null>(null);
  const symbols = useMemo(() => instruments.map((instrument) => instrument.symbol ?? ""), [instruments]);
  const quotes = useMemo(() => new QuotesFeed(symbols), [symbols]);
  useEffect(() => () => quotes.close(), [quotes]);
  const feed = useMemo(() => new SymbolFeed(symbol), [symbol]);
  useEffect(() => () => feed.close(), [feed]);
  const account = useMemo(() => (accountId && canTrade ? new AccountFeed(session, accountId) : null), [session, accountId, canTrade]);
  useEffect(() => () => account?.close(), [account]);

  const quoteMap = useSyncExternalStore(quotes.store.subscribe, quotes.store.get);
  const noAccount = useMemo(() => ({ subscribe: () => () => undefined, get: () => null }), []);
  const accountState = useSyncExternalStore(account?.store.subscribe ?? noAccount.subscribe, account?.store.get ?? noAccount.get);

  const instrument = instruments.find((entry) => entry.symbol === symbol);
  const decimalsOf = (name: string) => decimalsOfTick(instruments.find((entry) => entry.symbol === name)?.tick_size);
  const decimals = decimalsOf(symbol);
  const orders = Object.values(accountState?.orders ?? {});

  return (
    <Box sx={{ display: "grid", gap: 1, p: 1, gridTemplateColumns: "minmax(240px, 1fr) minmax(420px, 2.4fr) minmax(280px, 1.2fr)", gridTemplateRows: "minmax(300px, auto) auto" }}>
      <InstrumentList instruments={instruments} feed={quotes} selected={symbol} onSelect={setSymbol} />
      <Box sx={{ display: "grid", gap: 1, gridTemplateColumns: "1.3fr 1fr", gridTemplateRows: "auto auto", minWidth: 0 }}>
        <Box sx={{ gridColumn: "1 / -1", display: "flex", minHeight: 260 }}>
          <PriceChart session={session} feed={feed} symbol={symbol} />
        </Box>
        <DepthLadder feed={feed} decimals={decimals} orders={orders} onPrice={(price) => setPicked({ price, at: Date.now() })} />
        <TradeTape feed={feed} decimals={decimals} />
      </Box>
      <Box sx={{ display: "flex", flexDirection: "column", gap: 1 }}>
        {canTrade && instrument && accountId ? (
          <OrderTicket
            session={session}
            accountId={accountId}
            instrument={instrument}
            lastPrice={quoteMap[symbol]?.last_price}
            pickedPrice={picked}
            onReports={(reports) => reports.forEach((report) => account?.apply(report))}
          />
        ) : (
          <Alert severity="info">Viewing only: your roles do not trade, or you have no account.</Alert>
        )}
        {accountState && (
          <AccountPanel account={accountState.account} buyingPower={accountState.buyingPower} accountId={accountId} decimalsOf={decimalsOf} />
        )}
        {accountState?.error && <Alert severity="warning" sx={{ py: 0 }}>{accountState.error}</Alert>}
      </Box>
      {accountState && (
        <Panel title="Orders and fills" sx={{ gridColumn: "1 / -1" }}>
          <Tabs value={bottom} onChange={(_, value: number) => setBottom(value)} sx={{ minHeight: 32, "& .MuiTab-root": { minHeight: 32, py: 0 } }}>
            <Tab label={`Open orders (${orders.length})`} />
            <Tab label={`Fills (${accountState.fills.length})`} />
          </Tabs>
          {bottom === 0 ? (
            <OrdersTable session={session} accountId={accountId} orders={orders} decimalsOf={decimalsOf} />
          ) : (
            <FillsTable fills={accountState.fills} decimalsOf={decimalsOf} />
          )}
        </Panel>
      )}
    </Box>
  );
}

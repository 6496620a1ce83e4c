/** Every instrument with its last price, change from the reference and volume, live from L1. */
import { Table, TableBody, TableCell, TableHead, TableRow } from "@mui/material";
import { useSyncExternalStore, type KeyboardEvent } from "react";
import type { Instrument } from "../api/types";
import { change, decimalsOfTick, formatBps, formatPrice, formatQuantity, units } from "../lib/decimal";
import type { QuotesFeed } from "../lib/market";
import { Num } from "./Num";
import { Panel } from "./Panel";

export function InstrumentList({ instruments, feed, selected, onSelect }: {
  instruments: Instrument[];
  feed: QuotesFeed;
  selected: string;
  onSelect: (symbol: string) => void;
}) {
  const quotes = useSyncExternalStore(feed.store.subscribe, feed.store.get);
  const index = instruments.findIndex((instrument) => instrument.symbol === selected);
  const onKeyDown = (event: KeyboardEvent) => {
    const step = event.key === "ArrowDown" ? 1 : event.key === "ArrowUp" ? -1 : 0;
    const next = instruments[index + step];
    if (step !== 0 && next?.symbol) {
      event.preventDefault();
      onSelect(next.symbol);
    }
  };
  return (
    <Panel title="Instruments">
      <Table size="small" padding="none" tabIndex={0} onKeyDown={onKeyDown} aria-label="instruments" sx={{ "& td, & th": { px: 0.75, py: 0.25 } }}>
        <TableHead>
          <TableRow>
            <TableCell>Symbol</TableCell>
            <TableCell align="right">Last</TableCell>
            <TableCell align="right">Chg</TableCell>
            <TableCell align="right">Volume</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {instruments.map((instrument) => {
            const symbol = instrument.symbol ?? "";
            const quote = quotes[symbol];
            const decimals = decimalsOfTick(instrument.tick_size);
            const reference = units(quote?.reference_price) || units(instrument.reference_price);
            const moved = change(units(quote?.last_price), reference);
            const color = moved.units > 0n ? "success.main" : moved.units < 0n ? "error.main" : "text.secondary";
            return (
              <TableRow key={symbol} hover selected={symbol === selected} onClick={() => onSelect(symbol)} sx={{ cursor: "pointer" }} data-symbol={symbol}>
                <TableCell sx={{ fontWeight: 600 }}>{symbol}</TableCell>
                <Num>{formatPrice(quote?.last_price, decimals)}</Num>
                <Num sx={{ color }}>{formatBps(moved.bps)}</Num>
                <Num>{formatQuantity(quote?.volume ?? "0")}</Num>
              </TableRow>
            );
          })}
        </TableBody>
      </Table>
    </Panel>
  );
}

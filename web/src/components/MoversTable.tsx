/** The day's symbols, the largest move first: close, change against the reference, volume, trades, VWAP, notional. */
import { Table, TableBody, TableCell, TableHead, TableRow, Typography } from "@mui/material";
import type { Instrument } from "../api/types";
import { decimalsOfTick, formatBps, formatMoney, formatPrice, formatUnits } from "../lib/decimal";
import type { Mover } from "../lib/dashboard";
import { Num } from "./Num";

export function MoversTable({ rows, instruments }: { rows: readonly Mover[]; instruments: readonly Instrument[] }) {
  const decimals = new Map(instruments.map((instrument) => [instrument.symbol ?? "", decimalsOfTick(instrument.tick_size)]));
  if (rows.length === 0) return <Typography variant="body2" color="text.secondary">Nothing has traded today.</Typography>;
  return (
    <Table size="small" stickyHeader aria-label="top movers">
      <TableHead>
        <TableRow>
          <TableCell>Symbol</TableCell>
          <Num>Close</Num>
          <Num>Change</Num>
          <Num>%</Num>
          <Num>Volume</Num>
          <Num>Trades</Num>
          <Num>VWAP</Num>
          <Num>Notional</Num>
        </TableRow>
      </TableHead>
      <TableBody>
        {rows.map((row) => {
          const places = decimals.get(row.symbol) ?? 2;
          const colour = row.changeUnits > 0n ? "success.main" : row.changeUnits < 0n ? "error.main" : "text.primary";
          return (
            <TableRow key={row.symbol} data-symbol={row.symbol}>
              <TableCell>{row.symbol}</TableCell>
              <Num>{formatPrice(row.close, places)}</Num>
              <Num sx={{ color: colour }}>{`${row.changeUnits > 0n ? "+" : ""}${formatUnits(row.changeUnits, places)}`}</Num>
              <Num sx={{ color: colour }}>{formatBps(row.bps)}</Num>
              <Num>{formatUnits(row.volume, 0, { places: 0 })}</Num>
              <Num>{formatUnits(row.trades, 0, { places: 0 })}</Num>
              <Num>{formatPrice(row.vwap, places)}</Num>
              <Num>{formatMoney(row.notional)}</Num>
            </TableRow>
          );
        })}
      </TableBody>
    </Table>
  );
}

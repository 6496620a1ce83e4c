/** The last trades of the instrument on screen, newest first. */
import { Box, Table, TableBody, TableCell, TableHead, TableRow } from "@mui/material";
import { useSyncExternalStore } from "react";
import { formatPrice, formatQuantity } from "../lib/decimal";
import type { SymbolFeed } from "../lib/market";
import { Num } from "./Num";
import { Panel } from "./Panel";

export function TradeTape({ feed, decimals }: { feed: SymbolFeed; decimals: number }) {
  const state = useSyncExternalStore(feed.store.subscribe, feed.store.get);
  return (
    <Panel title="Trades">
      <Box sx={{ overflow: "auto", flex: 1 }}>
        <Table size="small" padding="none" stickyHeader aria-label="trades" sx={{ "& td, & th": { px: 0.75, py: 0.1 } }}>
          <TableHead>
            <TableRow>
              <TableCell>Time</TableCell>
              <TableCell align="right">Price</TableCell>
              <TableCell align="right">Qty</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {state.trades.map((trade) => (
              <TableRow key={trade.trade_id}>
                <Num sx={{ textAlign: "left" }}>{trade.trade_time?.slice(11, 19)}</Num>
                <Num sx={{ color: trade.aggressor_side === "SIDE_BUY" ? "success.main" : "error.main" }}>{formatPrice(trade.price, decimals)}</Num>
                <Num>{formatQuantity(trade.quantity)}</Num>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </Box>
    </Panel>
  );
}

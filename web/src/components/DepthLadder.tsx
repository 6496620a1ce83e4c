/**
 * The live depth ladder of one instrument: asks above, bids below, best
 * prices in the middle, with the quantity of one's own open orders at each
 * price. A click on a price puts it in the order ticket.
 */
import { Box, Table, TableBody, TableCell, TableHead, TableRow, Typography } from "@mui/material";
import { useSyncExternalStore } from "react";
import type { Order } from "../api/types";
import { formatUnits, integer, units } from "../lib/decimal";
import type { Level } from "../lib/book";
import type { SymbolFeed } from "../lib/market";
import { Num } from "./Num";
import { Panel } from "./Panel";

const DEPTH = 10;

export function DepthLadder({ feed, decimals, orders, onPrice }: {
  feed: SymbolFeed;
  decimals: number;
  orders: Order[];
  onPrice: (price: bigint) => void;
}) {
  const state = useSyncExternalStore(feed.store.subscribe, feed.store.get);
  const own = new Map<string, bigint>();
  for (const order of orders) {
    if (order.symbol !== state.symbol || units(order.price) === 0n) continue;
    const key = `${order.side}:${units(order.price)}`;
    own.set(key, (own.get(key) ?? 0n) + integer(order.leaves_quantity));
  }
  const asks = state.book.asks.slice(0, DEPTH).reverse();
  const bids = state.book.bids.slice(0, DEPTH);
  const row = (level: Level, side: "SIDE_BUY" | "SIDE_SELL") => {
    const mine = own.get(`${side}:${level.price}`);
    const color = side === "SIDE_BUY" ? "success.main" : "error.main";
    const price = formatUnits(level.price, decimals);
    return (
      <TableRow key={`${side}${level.price}`} hover onClick={() => onPrice(level.price)} sx={{ cursor: "pointer" }} data-side={side} data-price={price}>
        <Num sx={{ color: "info.main" }} data-testid="own">{side === "SIDE_BUY" && mine ? formatUnits(mine, 0, { places: 0 }) : ""}</Num>
        <Num>{side === "SIDE_BUY" ? formatUnits(level.quantity, 0, { places: 0 }) : ""}</Num>
        <Num sx={{ color, fontWeight: 600 }}>{price}</Num>
        <Num>{side === "SIDE_SELL" ? formatUnits(level.quantity, 0, { places: 0 }) : ""}</Num>
        <Num sx={{ color: "info.main" }}>{side === "SIDE_SELL" && mine ? formatUnits(mine, 0, { places: 0 }) : ""}</Num>
      </TableRow>
    );
  };
  return (
    <Panel title={`Depth ${state.symbol}`} label="depth ladder">
      {state.error && <Typography color="error" variant="caption">{state.error}</Typography>}
      <Box sx={{ overflow: "auto" }}>
        <Table size="small" padding="none" aria-label="depth" sx={{ "& td, & th": { px: 0.75, py: 0.1 } }}>
          <TableHead>
            <TableRow>
              <TableCell align="right">Mine</TableCell>
              <TableCell align="right">Bid qty</TableCell>
              <TableCell align="right">Price</TableCell>
              <TableCell align="right">Ask qty</TableCell>
              <TableCell align="right">Mine</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {asks.map((level) => row(level, "SIDE_SELL"))}
            {bids.map((level) => row(level, "SIDE_BUY"))}
          </TableBody>
        </Table>
      </Box>
    </Panel>
  );
}

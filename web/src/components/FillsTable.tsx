/** The account's fills, newest first. */
import { Table, TableBody, TableCell, TableHead, TableRow } from "@mui/material";
import type { ExecutionReport } from "../api/types";
import { formatPrice, formatQuantity } from "../lib/decimal";
import { Num } from "./Num";

export function FillsTable({ fills, decimalsOf }: { fills: ExecutionReport[]; decimalsOf: (symbol: string) => number }) {
  return (
    <Table size="small" padding="none" aria-label="fills" sx={{ "& td, & th": { px: 0.75, py: 0.1 } }}>
      <TableHead>
        <TableRow>
          <TableCell>Time</TableCell>
          <TableCell>Order</TableCell>
          <TableCell>Symbol</TableCell>
          <TableCell>Side</TableCell>
          <TableCell align="right">Price</TableCell>
          <TableCell align="right">Qty</TableCell>
          <TableCell align="right">Left</TableCell>
          <TableCell>Liquidity</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {fills.map((fill) => (
          <TableRow key={`${fill.report_sequence}-${fill.trade_id}`} data-fill-order-id={fill.order_id}>
            <Num sx={{ textAlign: "left" }}>{fill.transact_time?.slice(11, 23)}</Num>
            <Num sx={{ textAlign: "left" }}>{fill.order_id}</Num>
            <TableCell>{fill.symbol}</TableCell>
            <TableCell sx={{ color: fill.side === "SIDE_BUY" ? "success.main" : "error.main" }}>{fill.side?.replace("SIDE_", "")}</TableCell>
            <Num>{formatPrice(fill.last_price, decimalsOf(fill.symbol ?? ""))}</Num>
            <Num>{formatQuantity(fill.last_quantity)}</Num>
            <Num>{formatQuantity(fill.leaves_quantity)}</Num>
            <TableCell>{fill.liquidity?.replace("LIQUIDITY_INDICATOR_", "")}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

/** Open orders of the account, with cancel and amend (price, quantity). */
import { Alert, Box, Button, Dialog, DialogActions, DialogContent, DialogTitle, Table, TableBody, TableCell, TableHead, TableRow, TextField } from "@mui/material";
import { useState } from "react";
import { ApiError } from "../api/errors";
import { unwrap, type Session } from "../api/session";
import type { Order } from "../api/types";
import { formatPrice, formatQuantity, parseFixed, toDecimalString, units } from "../lib/decimal";
import { Num } from "./Num";

function short(value: string | undefined, prefix: string): string {
  return (value ?? "").replace(prefix, "");
}

export function OrdersTable({ session, accountId, orders, decimalsOf }: {
  session: Session;
  accountId: string;
  orders: Order[];
  decimalsOf: (symbol: string) => number;
}) {
  const [error, setError] = useState("");
  const [amending, setAmending] = useState<Order | null>(null);
  const [price, setPrice] = useState("");
  const [quantity, setQuantity] = useState("");

  const cancel = async (order: Order) => {
    setError("");
    try {
      unwrap(await session.api.DELETE("/orders/{order_id}", { params: { path: { order_id: order.order_id ?? "" }, query: { account_id: accountId } } }));
    } catch (failure) {
      setError(failure instanceof ApiError ? `Cancel refused: ${failure.display}` : String(failure));
    }
  };

  const amend = async () => {
    if (!amending) return;
    setError("");
    const newPrice = parseFixed(price);
    try {
      unwrap(
        await session.api.POST("/orders/{order_id}:replace", {
          params: { path: { order_id: amending.order_id ?? "" } },
          body: {
            account_id: accountId,
            ...(newPrice !== null && units(amending.price) !== 0n ? { price: toDecimalString(newPrice) } : {}),
            ...(/^\d+$/.test(quantity) ? { quantity } : {}),
          },
        }),
      );
      setAmending(null);
    } catch (failure) {
      setError(failure instanceof ApiError ? `Amend refused: ${failure.display}` : String(failure));
    }
  };

  const sorted = [...orders].sort((a, b) => (BigInt(b.order_id ?? "0") > BigInt(a.order_id ?? "0") ? 1 : -1));
  return (
    <Box>
      {error && <Alert severity="error" role="alert" onClose={() => setError("")} sx={{ py: 0 }}>{error}</Alert>}
      <Table size="small" padding="none" aria-label="open orders" sx={{ "& td, & th": { px: 0.75, py: 0.1 } }}>
        <TableHead>
          <TableRow>
            <TableCell>Order</TableCell>
            <TableCell>Symbol</TableCell>
            <TableCell>Side</TableCell>
            <TableCell>Type</TableCell>
            <TableCell>TIF</TableCell>
            <TableCell align="right">Price</TableCell>
            <TableCell align="right">Stop</TableCell>
            <TableCell align="right">Qty</TableCell>
            <TableCell align="right">Open</TableCell>
            <TableCell align="right">Filled</TableCell>
            <TableCell>Status</TableCell>
            <TableCell />
          </TableRow>
        </TableHead>
        <TableBody>
          {sorted.map((order) => {
            const decimals = decimalsOf(order.symbol ?? "");
            return (
              <TableRow key={order.order_id} data-order-id={order.order_id} data-client-order-id={order.client_order_id}>
                <Num sx={{ textAlign: "left" }}>{order.order_id}</Num>
                <TableCell>{order.symbol}</TableCell>
                <TableCell sx={{ color: order.side === "SIDE_BUY" ? "success.main" : "error.main" }}>{short(order.side, "SIDE_")}</TableCell>
                <TableCell>{short(order.order_type, "ORDER_TYPE_")}</TableCell>
                <TableCell>{short(order.time_in_force, "TIME_IN_FORCE_")}</TableCell>
                <Num>{formatPrice(order.price, decimals)}</Num>
                <Num>{formatPrice(order.stop_price, decimals)}</Num>
                <Num>{formatQuantity(order.quantity)}</Num>
                <Num>{formatQuantity(order.leaves_quantity)}</Num>
                <Num>{formatQuantity(order.cum_quantity ?? "0")}</Num>
                <TableCell>{short(order.status, "ORDER_STATUS_")}</TableCell>
                <TableCell sx={{ whiteSpace: "nowrap" }}>
                  <Button size="small" onClick={() => { setAmending(order); setPrice(formatPrice(order.price, decimals).replace(/,/g, "")); setQuantity(order.quantity ?? ""); }}>Amend</Button>
                  <Button size="small" color="error" onClick={() => void cancel(order)}>Cancel</Button>
                </TableCell>
              </TableRow>
            );
          })}
        </TableBody>
      </Table>
      <Dialog open={amending !== null} onClose={() => setAmending(null)}>
        <DialogTitle>Amend order {amending?.order_id}</DialogTitle>
        <DialogContent sx={{ display: "flex", gap: 1, pt: "8px !important" }}>
          <TextField size="small" label="Price" value={price} disabled={units(amending?.price) === 0n} onChange={(event) => setPrice(event.target.value)} />
          <TextField size="small" label="Quantity" value={quantity} onChange={(event) => setQuantity(event.target.value)} />
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setAmending(null)}>Close</Button>
          <Button variant="contained" onClick={() => void amend()}>Amend</Button>
        </DialogActions>
      </Dialog>
    </Box>
  );
}

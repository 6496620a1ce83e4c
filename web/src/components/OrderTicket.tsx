/**
 * The order ticket: every order type and time in force of the contract, an
 * iceberg's display quantity and post-only, checked against the
 * instrument's tick, lot and band as typed (lib/ticket.ts); the server's
 * refusal is shown with its reason. Keyboard: Alt+B buy, Alt+S sell, Enter sends.
 */
import {
  Alert,
  Box,
  Button,
  Checkbox,
  FormControlLabel,
  MenuItem,
  TextField,
  ToggleButton,
  ToggleButtonGroup,
} from "@mui/material";
import { useState, type KeyboardEvent, type SyntheticEvent } from "react";
import { ApiError } from "../api/errors";
import { unwrap, type Session } from "../api/session";
import type { ExecutionReport, Instrument, Side } from "../api/types";
import { decimalsOfTick, formatUnits } from "../lib/decimal";
import {
  allowedTimesInForce,
  emptyTicket,
  needsPrice,
  needsStop,
  ORDER_TYPES,
  validateTicket,
  type OrderKind,
  type Ticket,
  type TimeInForceName,
} from "../lib/ticket";
import { Panel } from "./Panel";

const TYPE_LABELS: Record<OrderKind, string> = { LIMIT: "Limit", MARKET: "Market", STOP: "Stop", STOP_LIMIT: "Stop limit" };

let sent = 0;
export function clientOrderId(): string {
  sent += 1;
  return `web-${Date.now().toString(36)}-${sent}`;
}

export function OrderTicket({ session, accountId, instrument, lastPrice, pickedPrice, onReports }: {
  session: Session;
  accountId: string;
  instrument: Instrument;
  lastPrice: string | undefined;
  /** A price clicked on the ladder, with a counter so the same price twice still arrives. */
  pickedPrice: { price: bigint; at: number } | null;
  onReports: (reports: ExecutionReport[]) => void;
}) {
  const [ticket, setTicket] = useState<Ticket>(emptyTicket());
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const decimals = decimalsOfTick(instrument.tick_size);

  // A price clicked on the ladder replaces the ticket's (adjusting state
  // while rendering, as React advises, rather than in an effect).
  const [seenPick, setSeenPick] = useState(pickedPrice);
  if (pickedPrice !== seenPick) {
    setSeenPick(pickedPrice);
    if (pickedPrice) setTicket({ ...ticket, price: formatUnits(pickedPrice.price, decimals, { grouped: false }) });
  }

  const { errors, request } = validateTicket(ticket, instrument, lastPrice, new Date());
  const shown = touched ? errors : {};
  const set = (changes: Partial<Ticket>) => {
    setTicket((current) => {
      const next = { ...current, ...changes };
      const allowed = allowedTimesInForce(next.orderType, next.postOnly);
      return allowed.includes(next.timeInForce) ? next : { ...next, timeInForce: allowed[0] ?? "DAY" };
    });
  };

  const submit = async (event: SyntheticEvent) => {
    event.preventDefault();
    setTouched(true);
    if (!request || busy) return;
    setBusy(true);
    setOutcome(null);
    try {
      const answer = unwrap(
        await session.api.POST("/orders", { body: { ...request, account_id: accountId, client_order_id: clientOrderId() } }),
      );
      onReports(answer.reports ?? []);
      const order = answer.order;
      setOutcome({ ok: true, text: `Order ${order?.order_id ?? ""} ${order?.status?.replace("ORDER_STATUS_", "") ?? "sent"}` });
      setTouched(false);
    } catch (error) {
      setOutcome({ ok: false, text: error instanceof ApiError ? `Refused: ${error.display}` : String(error) });
    } finally {
      setBusy(false);
    }
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (!event.altKey) return;
    const side: Side | null = event.key === "b" ? "SIDE_BUY" : event.key === "s" ? "SIDE_SELL" : null;
    if (side) {
      event.preventDefault();
      set({ side });
    }
  };

  const buy = ticket.side === "SIDE_BUY";
  return (
    <Panel title={`Order ticket ${instrument.symbol ?? ""}`} label="order ticket">
      <Box component="form" noValidate onSubmit={(event) => void submit(event)} onKeyDown={onKeyDown} sx={{ display: "grid", gridTemplateColumns: "1fr 1fr", gap: 1 }}>
        <ToggleButtonGroup
          exclusive
          size="small"
          value={ticket.side}
          onChange={(_, side: Side | null) => side && set({ side })}
          sx={{ gridColumn: "1 / -1" }}
          fullWidth
        >
          <ToggleButton value="SIDE_BUY" color="success">Buy</ToggleButton>
          <ToggleButton value="SIDE_SELL" color="error">Sell</ToggleButton>
        </ToggleButtonGroup>
        <TextField select size="small" label="Type" value={ticket.orderType} onChange={(event) => set({ orderType: event.target.value as OrderKind, ...(event.target.value !== "LIMIT" ? { postOnly: false, displayQuantity: "" } : {}) })}>
          {ORDER_TYPES.map((kind) => <MenuItem key={kind} value={kind}>{TYPE_LABELS[kind]}</MenuItem>)}
        </TextField>
        <TextField select size="small" label="Time in force" value={ticket.timeInForce} error={!!shown.timeInForce} helperText={shown.timeInForce} onChange={(event) => set({ timeInForce: event.target.value as TimeInForceName })}>
          {allowedTimesInForce(ticket.orderType, ticket.postOnly).map((tif) => <MenuItem key={tif} value={tif}>{tif}</MenuItem>)}
        </TextField>
        <TextField size="small" label="Quantity" value={ticket.quantity} error={!!shown.quantity} helperText={shown.quantity} onChange={(event) => set({ quantity: event.target.value })} slotProps={{ htmlInput: { inputMode: "numeric", style: { textAlign: "right" } } }} />
        <TextField size="small" label="Price" value={needsPrice(ticket.orderType) ? ticket.price : ""} disabled={!needsPrice(ticket.orderType)} error={!!shown.price} helperText={shown.price} onChange={(event) => set({ price: event.target.value })} slotProps={{ htmlInput: { inputMode: "decimal", style: { textAlign: "right" } } }} />
        {needsStop(ticket.orderType) && (
          <TextField size="small" label="Stop price" value={ticket.stopPrice} error={!!shown.stopPrice} helperText={shown.stopPrice} onChange={(event) => set({ stopPrice: event.target.value })} slotProps={{ htmlInput: { inputMode: "decimal", style: { textAlign: "right" } } }} />
        )}
        {ticket.orderType === "LIMIT" && (
          <TextField size="small" label="Display qty (iceberg)" value={ticket.displayQuantity} error={!!shown.displayQuantity} helperText={shown.displayQuantity} onChange={(event) => set({ displayQuantity: event.target.value })} slotProps={{ htmlInput: { inputMode: "numeric", style: { textAlign: "right" } } }} />
        )}
        {ticket.timeInForce === "GTD" && (
          <TextField size="small" type="datetime-local" label="Expires" value={ticket.expireTime} error={!!shown.expireTime} helperText={shown.expireTime} onChange={(event) => set({ expireTime: event.target.value })} slotProps={{ inputLabel: { shrink: true } }} />
        )}
        {ticket.orderType === "LIMIT" && (
          <FormControlLabel control={<Checkbox size="small" checked={ticket.postOnly} onChange={(event) => set({ postOnly: event.target.checked })} />} label="Post-only" />
        )}
        <Button type="submit" variant="contained" color={buy ? "success" : "error"} disabled={busy} sx={{ gridColumn: "1 / -1" }}>
          {buy ? "Buy" : "Sell"} {instrument.symbol}
        </Button>
        {outcome && (
          <Alert severity={outcome.ok ? "success" : "error"} sx={{ gridColumn: "1 / -1", py: 0 }} role={outcome.ok ? "status" : "alert"} data-testid="ticket-outcome">
            {outcome.text}
          </Alert>
        )}
      </Box>
    </Panel>
  );
}

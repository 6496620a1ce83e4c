/**
 * The order-event audit trail of one UTC day (/analytics/order-events): every
 * lifecycle event of every order with who sent the command, from where and
 * through which gateway; filtered by account, read a page at a time.
 */
import { Alert as Notice, Box, Button, Table, TableBody, TableCell, TableHead, TableRow, TextField, Typography } from "@mui/material";
import { useState } from "react";
import { ApiError } from "../api/errors";
import { unwrap, type Session } from "../api/session";
import type { OrderEvent } from "../api/types";
import { utcDay } from "../lib/dashboard";
import { formatQuantity } from "../lib/decimal";
import { Num } from "./Num";
import { Panel } from "./Panel";

const PAGE = 200;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

function short(value: string | undefined, prefix: string): string {
  return value === undefined || value.endsWith("_UNSPECIFIED") ? "" : value.replace(prefix, "").toLowerCase().replaceAll("_", " ");
}

export function OrderEventsPanel({ session }: { session: Session }) {
  const [day, setDay] = useState(utcDay());
  const [accountId, setAccountId] = useState("");
  const [events, setEvents] = useState<OrderEvent[]>([]);
  const [next, setNext] = useState("");
  const [loaded, setLoaded] = useState(false);
  const [problem, setProblem] = useState("");

  const read = async (token: string) => {
    setProblem("");
    if (!DAY.test(day)) {
      setProblem("The day is written YYYY-MM-DD.");
      return;
    }
    try {
      const answer = unwrap(
        await session.api.GET("/analytics/order-events", { params: { query: { date: day, account_id: accountId.trim(), page_size: PAGE, page_token: token } } }),
      );
      setEvents((shown) => (token === "" ? (answer.events ?? []) : [...shown, ...(answer.events ?? [])]));
      setNext(answer.next_page_token ?? "");
      setLoaded(true);
    } catch (error) {
      setProblem(error instanceof ApiError ? `Refused: ${error.display}` : String(error));
    }
  };

  return (
    <Panel title="Order-event audit trail" label="audit trail">
      <Box component="form" sx={{ display: "flex", gap: 1, alignItems: "center", mb: 1, pt: 1 }} onSubmit={(event) => { event.preventDefault(); void read(""); }}>
        <TextField size="small" label="Day (UTC)" value={day} onChange={(event) => setDay(event.target.value)} />
        <TextField size="small" label="Account (empty: all)" value={accountId} onChange={(event) => setAccountId(event.target.value)} />
        <Button type="submit" variant="outlined" size="small">Read events</Button>
      </Box>
      {problem && <Notice severity="error">{problem}</Notice>}
      {loaded && events.length === 0 && <Typography variant="body2" color="text.secondary">No order events that day.</Typography>}
      {events.length > 0 && (
        <Box sx={{ maxHeight: 420, overflow: "auto" }}>
          <Table size="small" stickyHeader aria-label="order events">
            <TableHead>
              <TableRow>
                <TableCell>Time (UTC)</TableCell>
                <Num>Sequence</Num>
                <TableCell>Account</TableCell>
                <Num>Order</Num>
                <TableCell>Symbol</TableCell>
                <TableCell>Side</TableCell>
                <TableCell>Event</TableCell>
                <TableCell>Status</TableCell>
                <TableCell>Reason</TableCell>
                <Num>Last qty</Num>
                <TableCell>Sender</TableCell>
                <TableCell>Gateway</TableCell>
                <TableCell>Source</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {events.map((event) => (
                <TableRow key={`${event.sequence ?? ""}-${event.account_id ?? ""}-${event.report_sequence ?? ""}`}>
                  <TableCell sx={{ whiteSpace: "nowrap" }}>{(event.event_time ?? "").replace("T", " ").slice(0, 23)}</TableCell>
                  <Num>{event.sequence}</Num>
                  <TableCell>{event.account_id}</TableCell>
                  <Num>{event.order_id}</Num>
                  <TableCell>{event.symbol}</TableCell>
                  <TableCell>{short(event.side, "SIDE_")}</TableCell>
                  <TableCell>{short(event.exec_type, "EXEC_TYPE_")}</TableCell>
                  <TableCell>{short(event.order_status, "ORDER_STATUS_")}</TableCell>
                  <TableCell>{short(event.reject_reason, "REJECT_REASON_") || short(event.cancel_reason, "CANCEL_REASON_")}</TableCell>
                  <Num>{event.last_quantity ? formatQuantity(event.last_quantity) : ""}</Num>
                  <TableCell sx={{ fontFamily: "monospace" }}>{event.sender_user_id}</TableCell>
                  <TableCell>{event.sender_gateway}</TableCell>
                  <TableCell>{event.sender_source}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Box>
      )}
      {next !== "" && (
        <Button size="small" onClick={() => void read(next)}>More events</Button>
      )}
    </Panel>
  );
}

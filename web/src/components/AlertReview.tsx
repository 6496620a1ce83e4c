/**
 * The review action of one surveillance alert: a status and a note, sent as
 * RiskService.ResolveAlert (POST /risk/alerts/{alert_id}:resolve). The
 * exchange holds the rules (a note to dismiss or confirm, a closed alert
 * changed again only by an administrator) and says why it refuses; the form
 * only keeps a closing review without a note from being sent. The reviewed
 * alert also comes back on the ALERTS stream; `onReviewed` hands the
 * answer's copy to the list at once.
 */
import { Box, Button, TextField, Typography } from "@mui/material";
import { useState, type SyntheticEvent } from "react";
import { ApiError } from "../api/errors";
import { unwrap, type Session } from "../api/session";
import type { Alert } from "../api/types";

type Status = NonNullable<Alert["status"]>;

/** The desk's statuses in workflow order, with what the page calls them. */
export const STATUSES: readonly (readonly [Status, string])[] = [
  ["ALERT_STATUS_OPEN", "Open"],
  ["ALERT_STATUS_UNDER_REVIEW", "Under review"],
  ["ALERT_STATUS_ESCALATED", "Escalated"],
  ["ALERT_STATUS_DISMISSED", "Dismissed"],
  ["ALERT_STATUS_CONFIRMED", "Confirmed"],
];

const CLOSING: ReadonlySet<Status> = new Set(["ALERT_STATUS_DISMISSED", "ALERT_STATUS_CONFIRMED"]);

export function statusLabel(status: Alert["status"]): string {
  return STATUSES.find(([value]) => value === status)?.[1] ?? "Open";
}

/** What a reviewer most likely does next: take an open alert under review. */
function nextStatus(current: Alert["status"]): Status {
  return !current || current === "ALERT_STATUS_OPEN" ? "ALERT_STATUS_UNDER_REVIEW" : current;
}

export function AlertReview({ session, alert, onReviewed }: { session: Session; alert: Alert; onReviewed: (alert: Alert) => void }) {
  const id = alert.alert_id ?? "";
  const [status, setStatus] = useState<Status>(nextStatus(alert.status));
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const needsNote = CLOSING.has(status) || status === alert.status;

  const submit = async (event: SyntheticEvent) => {
    event.preventDefault();
    setBusy(true);
    setError("");
    try {
      const answer = unwrap(
        await session.api.POST("/risk/alerts/{alert_id}:resolve", {
          params: { path: { alert_id: id } },
          body: { status, note: note.trim() },
        }),
      );
      setNote("");
      if (answer.alert) onReviewed(answer.alert);
    } catch (failure) {
      setError(failure instanceof ApiError ? `Refused: ${failure.display}` : String(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Box component="form" aria-label={`review alert ${id}`} onSubmit={(event) => void submit(event)} sx={{ display: "flex", gap: 0.5, alignItems: "center" }}>
      <TextField
        select
        size="small"
        label="Status"
        id={`alert-${id}-status`}
        value={status}
        onChange={(event) => setStatus(event.target.value as Status)}
        slotProps={{ select: { native: true } }}
        sx={{ width: 130 }}
      >
        {STATUSES.map(([value, label]) => (
          <option key={value} value={value}>{label}</option>
        ))}
      </TextField>
      <TextField
        size="small"
        label="Note"
        id={`alert-${id}-note`}
        value={note}
        required={needsNote}
        onChange={(event) => setNote(event.target.value)}
        slotProps={{ htmlInput: { maxLength: 1024 } }}
        sx={{ width: 220 }}
      />
      <Button type="submit" size="small" disabled={busy || (needsNote && !note.trim())}>Review</Button>
      {error && <Typography variant="caption" color="error" role="alert">{error}</Typography>}
    </Box>
  );
}

/** An account's risk limits and their usage, and the form that changes the limits. */
import { Box, Button, Checkbox, FormControlLabel, TextField, Typography } from "@mui/material";
import { useState } from "react";
import { unwrap, type Session } from "../api/session";
import type { AccountRisk } from "../api/types";
import { formatMoney } from "../lib/decimal";
import { formOf, LIMIT_FIELDS, limitsOf, type LimitForm } from "../lib/limits";
import { NUMERIC } from "./Num";

export function LimitsEditor({ session, risk, reason, onSaved, onError }: {
  session: Session;
  risk: AccountRisk;
  reason: string;
  onSaved: (text: string) => void;
  onError: (error: unknown) => void;
}) {
  const [form, setForm] = useState<LimitForm>(() => formOf(risk.limits));
  const { errors } = limitsOf(form);
  const usage = risk.usage;
  const save = async () => {
    const { limits } = limitsOf(form);
    if (!limits) return;
    try {
      unwrap(
        await session.api.PATCH("/risk/accounts/{account_id}/limits", {
          params: { path: { account_id: risk.account_id ?? "" }, query: { reason } },
          body: limits,
        }),
      );
      onSaved(`Limits of ${risk.account_id ?? ""} saved`);
    } catch (error) {
      onError(error);
    }
  };
  return (
    <Box aria-label="limits" component="section">
      <Typography variant="body2" sx={NUMERIC} data-testid="risk-usage">
        open orders {usage?.open_orders ?? 0} · messages/s {usage?.messages_last_second ?? 0} · reserved {formatMoney(usage?.reserved_cash)} ·
        buying power {formatMoney(usage?.buying_power)} · largest position {usage?.largest_position_quantity ?? "0"}
        {risk.kill_switch_active ? ` · KILL SWITCH (${risk.kill_switch_reason ?? ""})` : ""}
      </Typography>
      <Box sx={{ display: "grid", gridTemplateColumns: "1fr 1fr 1fr", gap: 1, mt: 1 }}>
        {LIMIT_FIELDS.map((field) => (
          <TextField
            key={field.key}
            size="small"
            label={field.label}
            value={form[field.key]}
            placeholder="no limit"
            error={!!errors[field.key]}
            helperText={errors[field.key]}
            onChange={(event) => setForm({ ...form, [field.key]: event.target.value })}
            slotProps={{ htmlInput: { style: { textAlign: "right" } }, inputLabel: { shrink: true } }}
          />
        ))}
        <FormControlLabel control={<Checkbox size="small" checked={form.allow_short_selling} onChange={(event) => setForm({ ...form, allow_short_selling: event.target.checked })} />} label="Short selling" />
        <Button variant="contained" onClick={() => void save()} disabled={Object.keys(errors).length > 0}>Save limits</Button>
      </Box>
    </Box>
  );
}

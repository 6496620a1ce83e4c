/**
 * The signed-in user's API keys (/users/me/api-keys): list, create with a
 * label, roles (a subset of the user's own) and an optional expiry, revoke.
 * A new key's secret is shown once, right after its creation: the exchange
 * keeps only a hash, and the secret is dropped from the page's state as soon
 * as the user dismisses it or creates another key.
 */
import { Alert as Notice, Box, Button, Checkbox, FormControlLabel, Table, TableBody, TableCell, TableHead, TableRow, TextField, Typography } from "@mui/material";
import { useEffect, useState } from "react";
import { ApiError } from "../api/errors";
import { unwrap, type Session } from "../api/session";
import type { ApiKey, Role } from "../api/types";
import { Panel } from "./Panel";

function roleName(role: string): string {
  return role.replace("ROLE_", "").toLowerCase().replace("_", " ");
}

function when(time: string | undefined): string {
  return time ? new Date(time).toISOString().replace("T", " ").slice(0, 19) : "—";
}

function describe(error: unknown): string {
  return error instanceof ApiError ? `Refused: ${error.display}` : String(error);
}

export function ApiKeysPanel({ session }: { session: Session }) {
  const own = (session.state.user?.roles ?? []).filter((role): role is Role => role !== "ROLE_UNSPECIFIED");
  const [keys, setKeys] = useState<ApiKey[]>([]);
  const [label, setLabel] = useState("");
  const [roles, setRoles] = useState<Role[]>([]);
  const [expiry, setExpiry] = useState("");
  const [secret, setSecret] = useState<{ keyId: string; secret: string } | null>(null);
  const [problem, setProblem] = useState("");

  /** Bumped after a creation or a revocation to read the list again. */
  const [version, setVersion] = useState(0);

  useEffect(() => {
    let stopped = false;
    const load = async () => {
      try {
        const answer = unwrap(await session.api.GET("/users/me/api-keys"));
        if (!stopped) setKeys(answer.api_keys ?? []);
      } catch (error) {
        if (!stopped) setProblem(describe(error));
      }
    };
    void load();
    return () => {
      stopped = true;
    };
  }, [session, version]);

  const create = async () => {
    setProblem("");
    setSecret(null);
    if (label.trim() === "") {
      setProblem("A key needs a label, to recognise it in this list.");
      return;
    }
    const expireTime = expiry === "" ? undefined : new Date(expiry);
    if (expireTime !== undefined && (Number.isNaN(expireTime.getTime()) || expireTime.getTime() <= Date.now())) {
      setProblem("The expiry must be a time in the future.");
      return;
    }
    try {
      const answer = unwrap(
        await session.api.POST("/users/me/api-keys", { body: { label: label.trim(), roles, expire_time: expireTime?.toISOString() } }),
      );
      setSecret({ keyId: answer.api_key?.key_id ?? "", secret: answer.secret ?? "" });
      setLabel("");
      setVersion((count) => count + 1);
    } catch (error) {
      setProblem(describe(error));
    }
  };

  const revoke = async (keyId: string) => {
    setProblem("");
    try {
      unwrap(await session.api.DELETE("/users/me/api-keys/{key_id}", { params: { path: { key_id: keyId } } }));
      setVersion((count) => count + 1);
    } catch (error) {
      setProblem(describe(error));
    }
  };

  const toggle = (role: Role) => setRoles((chosen) => (chosen.includes(role) ? chosen.filter((item) => item !== role) : [...chosen, role]));

  return (
    <Panel title="API keys" label="api keys">
      <Box component="form" sx={{ display: "flex", gap: 1, alignItems: "center", flexWrap: "wrap", mb: 1, pt: 1 }} onSubmit={(event) => { event.preventDefault(); void create(); }}>
        <TextField size="small" label="Label" value={label} onChange={(event) => setLabel(event.target.value)} />
        {own.map((role) => (
          <FormControlLabel key={role} control={<Checkbox size="small" checked={roles.includes(role)} onChange={() => toggle(role)} />} label={roleName(role)} />
        ))}
        <TextField size="small" type="datetime-local" label="Expires" value={expiry} onChange={(event) => setExpiry(event.target.value)} slotProps={{ inputLabel: { shrink: true } }} />
        <Button type="submit" variant="contained" size="small">Create key</Button>
      </Box>
      <Typography variant="caption" color="text.secondary">No role ticked gives the key all of yours.</Typography>
      {problem && <Notice severity="error" data-testid="api-key-problem">{problem}</Notice>}
      {secret && (
        <Notice severity="warning" data-testid="api-key-secret" onClose={() => setSecret(null)}>
          Key {secret.keyId}: its secret is shown only now, copy it: <code>{secret.secret}</code>
        </Notice>
      )}
      <Table size="small" aria-label="api key list">
        <TableHead>
          <TableRow>
            <TableCell>Key</TableCell>
            <TableCell>Label</TableCell>
            <TableCell>Roles</TableCell>
            <TableCell>Created</TableCell>
            <TableCell>Expires</TableCell>
            <TableCell>Last used</TableCell>
            <TableCell>State</TableCell>
            <TableCell />
          </TableRow>
        </TableHead>
        <TableBody>
          {keys.map((key) => (
            <TableRow key={key.key_id} data-key={key.key_id}>
              <TableCell sx={{ fontFamily: "monospace" }}>{key.key_id}</TableCell>
              <TableCell>{key.label}</TableCell>
              <TableCell>{(key.roles ?? []).map(roleName).join(", ")}</TableCell>
              <TableCell>{when(key.create_time)}</TableCell>
              <TableCell>{when(key.expire_time)}</TableCell>
              <TableCell>{when(key.last_use_time)}</TableCell>
              <TableCell>{key.revoke_time ? `revoked ${when(key.revoke_time)}` : "valid"}</TableCell>
              <TableCell>
                {!key.revoke_time && (
                  <Button size="small" color="error" onClick={() => void revoke(key.key_id ?? "")}>Revoke</Button>
                )}
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </Panel>
  );
}

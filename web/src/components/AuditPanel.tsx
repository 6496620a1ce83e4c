/**
 * The two audit logs (/admin/audit/entries: the journaled commands and the
 * authentication events, newest first, paged) and the verification of their
 * hash chains (/admin/audit:verify), shown plainly: "verified, N entries" or
 * the first entry that does not hold.
 */
import { Alert as Notice, Box, Button, Table, TableBody, TableCell, TableHead, TableRow, ToggleButton, ToggleButtonGroup } from "@mui/material";
import { useEffect, useState } from "react";
import { ApiError } from "../api/errors";
import { unwrap, type Session } from "../api/session";
import type { AuditEntry, AuditLog, AuditVerification } from "../api/types";
import { Num } from "./Num";
import { Panel } from "./Panel";

const NAMES: Record<AuditLog, string> = {
  AUDIT_LOG_UNSPECIFIED: "unspecified",
  AUDIT_LOG_COMMANDS: "commands (audit_log)",
  AUDIT_LOG_AUTH: "sign-ins and administration (auth_log)",
};

function describe(error: unknown): string {
  return error instanceof ApiError ? `Refused: ${error.display}` : String(error);
}

/** One log's verification in words. */
export function verdict(result: AuditVerification): string {
  const name = NAMES[result.log ?? "AUDIT_LOG_UNSPECIFIED"];
  const count = Number(result.entries_checked ?? 0);
  return result.holds
    ? `${name}: verified, ${count} entries`
    : `${name}: does not hold: ${result.first_problem ?? ""} (${count} entries before it verified)`;
}

export function AuditPanel({ session }: { session: Session }) {
  const [log, setLog] = useState<AuditLog>("AUDIT_LOG_COMMANDS");
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [next, setNext] = useState("");
  const [problem, setProblem] = useState("");
  const [results, setResults] = useState<AuditVerification[] | null>(null);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    let stopped = false;
    const load = async () => {
      try {
        const answer = unwrap(await session.api.GET("/admin/audit/entries", { params: { query: { log, page_size: 50 } } }));
        if (!stopped) {
          setEntries(answer.entries ?? []);
          setNext(answer.next_page_token ?? "");
          setProblem("");
        }
      } catch (error) {
        if (!stopped) setProblem(describe(error));
      }
    };
    void load();
    return () => {
      stopped = true;
    };
  }, [session, log, version]);

  const older = async () => {
    try {
      const answer = unwrap(await session.api.GET("/admin/audit/entries", { params: { query: { log, page_size: 50, page_token: next } } }));
      setEntries((shown) => [...shown, ...(answer.entries ?? [])]);
      setNext(answer.next_page_token ?? "");
    } catch (error) {
      setProblem(describe(error));
    }
  };

  const verify = async () => {
    setResults(null);
    try {
      const answer = unwrap(await session.api.GET("/admin/audit:verify"));
      setResults(answer.logs ?? []);
    } catch (error) {
      setProblem(describe(error));
    }
  };

  const commands = log === "AUDIT_LOG_COMMANDS";
  return (
    <Panel title="Audit log" label="audit log">
      <Box sx={{ display: "flex", gap: 1, alignItems: "center", flexWrap: "wrap", mb: 1, pt: 1 }}>
        <ToggleButtonGroup size="small" exclusive value={log} onChange={(_, value: AuditLog | null) => value && setLog(value)} aria-label="audit log to show">
          <ToggleButton value="AUDIT_LOG_COMMANDS">Commands</ToggleButton>
          <ToggleButton value="AUDIT_LOG_AUTH">Sign-ins and administration</ToggleButton>
        </ToggleButtonGroup>
        <Button size="small" onClick={() => setVersion((count) => count + 1)}>Newest</Button>
        <Button size="small" variant="contained" onClick={() => void verify()}>Verify both logs</Button>
      </Box>
      {results && (
        <Box data-testid="audit-verification" sx={{ display: "flex", flexDirection: "column", gap: 0.5, mb: 1 }}>
          {results.map((result) => (
            <Notice key={result.log} severity={result.holds ? "success" : "error"}>{verdict(result)}</Notice>
          ))}
        </Box>
      )}
      {problem && <Notice severity="error" data-testid="audit-problem">{problem}</Notice>}
      <Box sx={{ overflowX: "auto" }}>
        <Table size="small" aria-label="audit entries">
          <TableHead>
            <TableRow>
              <Num>#</Num>
              <TableCell>Time (UTC)</TableCell>
              <TableCell>Action</TableCell>
              <TableCell>User</TableCell>
              <TableCell>{commands ? "Account" : "Username"}</TableCell>
              {commands && <TableCell>Client id</TableCell>}
              <TableCell>Source</TableCell>
              <TableCell>Gateway</TableCell>
              <TableCell>Detail</TableCell>
              <TableCell>Hash</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {entries.map((entry) => (
              <TableRow key={entry.number}>
                <Num>{entry.number}</Num>
                <TableCell sx={{ whiteSpace: "nowrap" }}>{entry.time ? new Date(entry.time).toISOString().replace("T", " ").slice(0, 23) : "—"}</TableCell>
                <TableCell>{entry.action}</TableCell>
                <TableCell sx={{ fontFamily: "monospace" }}>{entry.user_id}</TableCell>
                <TableCell>{commands ? entry.account_id : entry.username}</TableCell>
                {commands && <TableCell>{entry.client_order_id}</TableCell>}
                <TableCell>{entry.source}</TableCell>
                <TableCell>{entry.gateway}</TableCell>
                <TableCell sx={{ maxWidth: 360, overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" }} title={entry.detail}>{entry.detail}</TableCell>
                <TableCell sx={{ fontFamily: "monospace" }} title={entry.hash}>{(entry.hash ?? "").slice(0, 12)}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </Box>
      {next && (
        <Button size="small" onClick={() => void older()}>Older entries</Button>
      )}
    </Panel>
  );
}

/**
 * Every user of the exchange (/admin/users, paged by username): create one
 * with roles and extra accounts, change a user's roles, disable and enable
 * (with a reason, kept in the audit log). The exchange refuses an
 * administrator's own lock-out (SELF_LOCKOUT): the refusal is shown as any.
 */
import { Alert as Notice, Box, Button, Checkbox, FormControlLabel, Table, TableBody, TableCell, TableHead, TableRow, TextField } from "@mui/material";
import { useEffect, useState } from "react";
import { ApiError } from "../api/errors";
import { unwrap, type Session } from "../api/session";
import type { Role, User } from "../api/types";
import { Panel } from "./Panel";

export const ROLES: Role[] = ["ROLE_VIEWER", "ROLE_TRADER", "ROLE_MARKET_MAKER", "ROLE_RISK_OFFICER", "ROLE_ADMIN"];

export function roleName(role: string): string {
  return role.replace("ROLE_", "").toLowerCase().replace("_", " ");
}

function describe(error: unknown): string {
  return error instanceof ApiError ? `Refused: ${error.display}` : String(error);
}

function RoleBoxes({ chosen, onToggle, prefix }: { chosen: Role[]; onToggle: (role: Role) => void; prefix: string }) {
  return (
    <>
      {ROLES.map((role) => (
        <FormControlLabel
          key={role}
          sx={{ mr: 1 }}
          control={<Checkbox size="small" checked={chosen.includes(role)} onChange={() => onToggle(role)} slotProps={{ input: { "aria-label": `${prefix} ${roleName(role)}` } }} />}
          label={roleName(role)}
        />
      ))}
    </>
  );
}

function toggled(chosen: Role[], role: Role): Role[] {
  return chosen.includes(role) ? chosen.filter((item) => item !== role) : [...chosen, role];
}

export function UsersPanel({ session }: { session: Session }) {
  const [users, setUsers] = useState<User[]>([]);
  const [next, setNext] = useState("");
  const [problem, setProblem] = useState("");
  const [done, setDone] = useState("");
  const [form, setForm] = useState({ username: "", email: "", password: "", accounts: "" });
  const [roles, setRoles] = useState<Role[]>(["ROLE_TRADER"]);
  const [editing, setEditing] = useState<{ userId: string; roles: Role[] } | null>(null);
  const [reason, setReason] = useState("");
  /** Bumped after a change to read the first page again. */
  const [version, setVersion] = useState(0);

  useEffect(() => {
    let stopped = false;
    const load = async () => {
      try {
        const answer = unwrap(await session.api.GET("/admin/users", { params: { query: { page_size: 50 } } }));
        if (!stopped) {
          setUsers(answer.users ?? []);
          setNext(answer.next_page_token ?? "");
        }
      } catch (error) {
        if (!stopped) setProblem(describe(error));
      }
    };
    void load();
    return () => {
      stopped = true;
    };
  }, [session, version]);

  const more = async () => {
    try {
      const answer = unwrap(await session.api.GET("/admin/users", { params: { query: { page_size: 50, page_token: next } } }));
      setUsers((shown) => [...shown, ...(answer.users ?? [])]);
      setNext(answer.next_page_token ?? "");
    } catch (error) {
      setProblem(describe(error));
    }
  };

  const act = async (what: () => Promise<string>) => {
    setProblem("");
    setDone("");
    try {
      setDone(await what());
      setVersion((count) => count + 1);
    } catch (error) {
      setProblem(describe(error));
    }
  };

  const create = () =>
    act(async () => {
      const accountIds = form.accounts.split(",").map((account) => account.trim()).filter((account) => account !== "");
      const answer = unwrap(
        await session.api.POST("/admin/users", { body: { username: form.username.trim(), email: form.email.trim(), password: form.password, roles, account_ids: accountIds } }),
      );
      setForm({ username: "", email: "", password: "", accounts: "" });
      return `Created ${answer.user?.username ?? ""} (${(answer.user?.account_ids ?? []).join(", ")})`;
    });

  const saveRoles = () =>
    act(async () => {
      if (editing === null) return "";
      const userId = editing.userId;
      const answer = unwrap(await session.api.POST("/admin/users/{user_id}:setRoles", { params: { path: { user_id: userId } }, body: { user_id: userId, roles: editing.roles } }));
      setEditing(null);
      return `${answer.user?.username ?? ""} now has the roles ${(answer.user?.roles ?? []).map(roleName).join(", ")}`;
    });

  const setDisabled = (user: User, disable: boolean) => {
    if (reason.trim() === "") {
      setDone("");
      setProblem("Give a reason: it is kept in the audit log.");
      return;
    }
    const userId = user.user_id ?? "";
    const options = { params: { path: { user_id: userId } }, body: { user_id: userId, reason: reason.trim() } };
    void act(async () => {
      if (disable) unwrap(await session.api.POST("/admin/users/{user_id}:disable", options));
      else unwrap(await session.api.POST("/admin/users/{user_id}:enable", options));
      return `${disable ? "Disabled" : "Enabled"} ${user.username ?? ""}`;
    });
  };

  const field = (name: keyof typeof form, label: string, type = "text") => (
    <TextField size="small" label={label} type={type} value={form[name]} onChange={(event) => setForm({ ...form, [name]: event.target.value })} />
  );

  return (
    <Panel title="Users" label="users">
      <Box component="form" aria-label="new user" sx={{ display: "flex", gap: 1, alignItems: "center", flexWrap: "wrap", mb: 1, pt: 1 }} onSubmit={(event) => { event.preventDefault(); void create(); }}>
        {field("username", "Username")}
        {field("email", "E-mail")}
        {field("password", "Password", "password")}
        {field("accounts", "More accounts")}
        <RoleBoxes chosen={roles} prefix="new user" onToggle={(role) => setRoles((chosen) => toggled(chosen, role))} />
        <Button type="submit" variant="contained" size="small">Create user</Button>
      </Box>
      <Box sx={{ display: "flex", gap: 1, alignItems: "center", mb: 1 }}>
        <TextField size="small" label="Reason (disable, enable)" value={reason} onChange={(event) => setReason(event.target.value)} sx={{ minWidth: 280 }} />
      </Box>
      {problem && <Notice severity="error" data-testid="users-problem">{problem}</Notice>}
      {done && <Notice severity="success" data-testid="users-done">{done}</Notice>}
      <Box sx={{ overflowX: "auto" }}>
        <Table size="small" aria-label="user list">
          <TableHead>
            <TableRow>
              <TableCell>Username</TableCell>
              <TableCell>User id</TableCell>
              <TableCell>Roles</TableCell>
              <TableCell>Accounts</TableCell>
              <TableCell>Created</TableCell>
              <TableCell>State</TableCell>
              <TableCell />
            </TableRow>
          </TableHead>
          <TableBody>
            {users.map((user) => (
              <TableRow key={user.user_id} data-user={user.username}>
                <TableCell>{user.username}</TableCell>
                <TableCell sx={{ fontFamily: "monospace" }}>{user.user_id}</TableCell>
                <TableCell>
                  {editing !== null && editing.userId === user.user_id ? (
                    <Box sx={{ display: "flex", flexWrap: "wrap", alignItems: "center" }}>
                      <RoleBoxes chosen={editing.roles} prefix={user.username ?? ""} onToggle={(role) => setEditing({ userId: editing.userId, roles: toggled(editing.roles, role) })} />
                      <Button size="small" variant="contained" onClick={() => void saveRoles()}>Save roles</Button>
                      <Button size="small" onClick={() => setEditing(null)}>Cancel</Button>
                    </Box>
                  ) : (
                    (user.roles ?? []).map(roleName).join(", ")
                  )}
                </TableCell>
                <TableCell>{(user.account_ids ?? []).join(", ")}</TableCell>
                <TableCell>{user.create_time ? new Date(user.create_time).toISOString().slice(0, 10) : "—"}</TableCell>
                <TableCell data-testid="user-state">{user.disabled ? "disabled" : "active"}</TableCell>
                <TableCell sx={{ whiteSpace: "nowrap" }}>
                  {editing?.userId !== user.user_id && (
                    <Button size="small" onClick={() => setEditing({ userId: user.user_id ?? "", roles: (user.roles ?? []).filter((role): role is Role => role !== "ROLE_UNSPECIFIED") })}>
                      Edit roles
                    </Button>
                  )}
                  {user.disabled ? (
                    <Button size="small" onClick={() => setDisabled(user, false)}>Enable</Button>
                  ) : (
                    <Button size="small" color="error" onClick={() => setDisabled(user, true)}>Disable</Button>
                  )}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </Box>
      {next && (
        <Button size="small" onClick={() => void more()}>More users</Button>
      )}
    </Panel>
  );
}

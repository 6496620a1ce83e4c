/** Sign in, or register a new trader (who gets an account named after them). */
import { Alert, Box, Button, Paper, Tab, Tabs, TextField, Typography } from "@mui/material";
import { useState, type SyntheticEvent } from "react";
import { ApiError } from "../api/errors";
import type { Session } from "../api/session";

export function SignIn({ session, notice }: { session: Session; notice: string }) {
  const [mode, setMode] = useState<"in" | "register">("in");
  const [username, setUsername] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const submit = async (event: SyntheticEvent) => {
    event.preventDefault();
    setError("");
    setBusy(true);
    try {
      if (mode === "in") await session.login(username, password);
      else await session.register(username, email, password);
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.display : String(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Box sx={{ display: "flex", justifyContent: "center", pt: 8 }}>
      <Paper component="form" onSubmit={(event) => void submit(event)} sx={{ p: 3, width: 360, display: "flex", flexDirection: "column", gap: 2 }}>
        <Typography variant="h5" component="h1">StockTraderX</Typography>
        <Tabs value={mode} onChange={(_, value: "in" | "register") => setMode(value)}>
          <Tab value="in" label="Sign in" />
          <Tab value="register" label="Register" />
        </Tabs>
        {notice && <Alert severity="info">{notice}</Alert>}
        <TextField label="Username" autoComplete="username" autoFocus value={username} onChange={(event) => setUsername(event.target.value)} required />
        {mode === "register" && <TextField label="E-mail" type="email" value={email} onChange={(event) => setEmail(event.target.value)} required />}
        <TextField label="Password" type="password" autoComplete={mode === "in" ? "current-password" : "new-password"} value={password} onChange={(event) => setPassword(event.target.value)} required />
        {error && <Alert severity="error" role="alert">{error}</Alert>}
        <Button type="submit" variant="contained" disabled={busy}>{mode === "in" ? "Sign in" : "Register"}</Button>
      </Paper>
    </Box>
  );
}

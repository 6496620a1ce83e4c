/**
 * The application shell: sign-in until there is a user, then the pages the
 * user's roles allow, a theme switch (dark or light, remembered) and sign-out.
 */
import { AppBar, Box, Button, CssBaseline, IconButton, MenuItem, Select, Tab, Tabs, ThemeProvider, Toolbar, Tooltip, Typography, createTheme } from "@mui/material";
import { useEffect, useMemo, useState, useSyncExternalStore } from "react";
import { unwrap, type Session } from "./api/session";
import type { Instrument } from "./api/types";
import { AdminPage } from "./pages/AdminPage";
import { DashboardPage } from "./pages/DashboardPage";
import { ReportsPage } from "./pages/ReportsPage";
import { RiskPage } from "./pages/RiskPage";
import { SignIn } from "./pages/SignIn";
import { TradingPage } from "./pages/TradingPage";

type Mode = "dark" | "light";
const THEME_KEY = "stx.theme";

export function App({ session }: { session: Session }) {
  const [mode, setMode] = useState<Mode>(() => (localStorage.getItem(THEME_KEY) === "light" ? "light" : "dark"));
  const theme = useMemo(
    () => createTheme({ palette: { mode }, typography: { fontSize: 12 }, components: { MuiTableCell: { styleOverrides: { root: { fontSize: 12 } } } } }),
    [mode],
  );
  const state = useSyncExternalStore(session.store.subscribe, session.store.get);
  const [ready, setReady] = useState(false);
  useEffect(() => {
    void session.resume().finally(() => setReady(true));
  }, [session]);
  const toggle = () => {
    const next = mode === "dark" ? "light" : "dark";
    localStorage.setItem(THEME_KEY, next);
    setMode(next);
  };
  return (
    <ThemeProvider theme={theme}>
      <CssBaseline />
      {!ready ? null : state.user === null ? (
        <SignIn session={session} notice={state.notice} />
      ) : (
        <Signed session={session} onToggleTheme={toggle} mode={mode} />
      )}
    </ThemeProvider>
  );
}

function Signed({ session, onToggleTheme, mode }: { session: Session; onToggleTheme: () => void; mode: Mode }) {
  const user = session.state.user;
  const canTrade = session.hasRole("ROLE_TRADER", "ROLE_MARKET_MAKER");
  const canRisk = session.hasRole("ROLE_RISK_OFFICER", "ROLE_ADMIN");
  const canAdmin = session.hasRole("ROLE_ADMIN");
  const pages = [...(canTrade || !canRisk ? ["Trading"] : []), ...(canRisk ? ["Risk"] : []), "Dashboards", "Reports", ...(canAdmin ? ["Admin"] : [])];
  const [page, setPage] = useState(pages[0] ?? "Trading");
  const accounts = user?.account_ids ?? [];
  const [accountId, setAccountId] = useState(accounts[0] ?? "");
  const [instruments, setInstruments] = useState<Instrument[]>([]);
  const [error, setError] = useState("");
  useEffect(() => {
    void (async () => {
      try {
        const answer = unwrap(await session.api.GET("/instruments", { params: { query: { page_size: 1000 } } }));
        setInstruments(answer.instruments ?? []);
      } catch (failure) {
        setError(String(failure));
      }
    })();
  }, [session]);
  return (
    <Box>
      <AppBar position="static" color="default" elevation={0}>
        <Toolbar variant="dense" sx={{ gap: 2 }}>
          <Typography variant="h6" component="div">StockTraderX</Typography>
          <Tabs value={page} onChange={(_, value: string) => setPage(value)} sx={{ minHeight: 40, "& .MuiTab-root": { minHeight: 40 } }}>
            {pages.map((name) => <Tab key={name} value={name} label={name} />)}
          </Tabs>
          <Box sx={{ flex: 1 }} />
          {page === "Trading" && accounts.length > 0 && (
            <Select size="small" value={accountId} onChange={(event) => setAccountId(event.target.value)} aria-label="account">
              {accounts.map((account) => <MenuItem key={account} value={account}>{account}</MenuItem>)}
            </Select>
          )}
          <Typography variant="body2" data-testid="signed-in-user">
            {user?.username} · {(user?.roles ?? []).map((role) => role.replace("ROLE_", "").toLowerCase()).join(", ")}
          </Typography>
          <Tooltip title="Dark or light theme">
            <IconButton onClick={onToggleTheme} aria-label="switch theme" size="small">{mode === "dark" ? "☀" : "☾"}</IconButton>
          </Tooltip>
          <Button onClick={() => void session.logout()}>Sign out</Button>
        </Toolbar>
      </AppBar>
      {error && <Typography color="error" sx={{ p: 1 }}>{error}</Typography>}
      {instruments.length > 0 && page === "Trading" && (
        <TradingPage key={accountId} session={session} instruments={instruments} accountId={accountId} canTrade={canTrade} />
      )}
      {page === "Risk" && canRisk && <RiskPage session={session} instruments={instruments} />}
      {page === "Dashboards" && <DashboardPage session={session} instruments={instruments} />}
      {page === "Reports" && <ReportsPage session={session} />}
      {page === "Admin" && canAdmin && <AdminPage session={session} />}
    </Box>
  );
}

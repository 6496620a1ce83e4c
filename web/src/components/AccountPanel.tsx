/** Cash, buying power, P&L and positions of the account, live. */
import { Box, Table, TableBody, TableCell, TableHead, TableRow, Typography } from "@mui/material";
import type { Account } from "../api/types";
import { formatMoney, formatPrice, formatQuantity, formatUnits, units } from "../lib/decimal";
import { Num, NUMERIC } from "./Num";
import { Panel } from "./Panel";

function Figure({ label, value, signed }: { label: string; value: string | undefined; signed?: boolean }) {
  const amount = units(value);
  const color = !signed || amount === 0n ? "text.primary" : amount > 0n ? "success.main" : "error.main";
  return (
    <Box sx={{ display: "flex", justifyContent: "space-between", gap: 1 }} data-figure={label}>
      <Typography variant="body2" color="text.secondary">{label}</Typography>
      <Typography variant="body2" sx={{ ...NUMERIC, color }}>{formatMoney(value)}</Typography>
    </Box>
  );
}

export function AccountPanel({ account, buyingPower, accountId, decimalsOf }: {
  account: Account | null;
  buyingPower: string;
  accountId: string;
  decimalsOf: (symbol: string) => number;
}) {
  const positions = (account?.positions ?? []).filter((position) => position.quantity !== "0" || units(position.realized_pnl) !== 0n);
  return (
    <Panel title={`Account ${accountId}${account?.kill_switch_active ? " · KILL SWITCH" : ""}`} label="account">
      <Figure label="Cash" value={account?.cash_balance} />
      <Figure label="Buying power" value={buyingPower} />
      <Figure label="Realized P&L" value={account?.realized_pnl} signed />
      <Figure label="Unrealized P&L" value={account?.unrealized_pnl} signed />
      <Table size="small" padding="none" aria-label="positions" sx={{ mt: 1, "& td, & th": { px: 0.75, py: 0.1 } }}>
        <TableHead>
          <TableRow>
            <TableCell>Symbol</TableCell>
            <TableCell align="right">Qty</TableCell>
            <TableCell align="right">Avg cost</TableCell>
            <TableCell align="right">Mark</TableCell>
            <TableCell align="right">P&L</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {positions.map((position) => {
            const decimals = decimalsOf(position.symbol ?? "");
            const pnl = units(position.unrealized_pnl) + units(position.realized_pnl);
            return (
              <TableRow key={position.symbol} data-position={position.symbol}>
                <TableCell>{position.symbol}</TableCell>
                <Num data-testid="position-quantity">{formatQuantity(position.quantity)}</Num>
                <Num>{formatPrice(position.average_cost, decimals)}</Num>
                <Num>{formatPrice(position.mark_price, decimals)}</Num>
                <Num sx={{ color: pnl > 0n ? "success.main" : pnl < 0n ? "error.main" : undefined }}>{formatUnits(pnl, 2)}</Num>
              </TableRow>
            );
          })}
        </TableBody>
      </Table>
    </Panel>
  );
}

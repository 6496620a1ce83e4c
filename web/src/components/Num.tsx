/** A number cell: right-aligned, fixed decimals, digits of one width so columns do not jitter. */
import { TableCell, type TableCellProps, type Theme } from "@mui/material";
import type { SystemStyleObject } from "@mui/system";

export const NUMERIC = { fontVariantNumeric: "tabular-nums", fontFamily: "'Roboto Mono', ui-monospace, monospace" } as const;

export function Num({ children, sx, ...rest }: Omit<TableCellProps, "sx"> & { sx?: SystemStyleObject<Theme> }) {
  return (
    <TableCell align="right" sx={{ ...NUMERIC, whiteSpace: "nowrap", ...sx }} {...rest}>
      {children}
    </TableCell>
  );
}

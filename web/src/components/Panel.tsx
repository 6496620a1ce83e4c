import { Paper, Typography, type Theme } from "@mui/material";
import type { SystemStyleObject } from "@mui/system";
import type { ReactNode } from "react";

/** A titled, dense box of the trading screen. */
export function Panel({ title, children, sx, action, label }: { title: string; children: ReactNode; sx?: SystemStyleObject<Theme>; action?: ReactNode; label?: string }) {
  return (
    <Paper variant="outlined" component="section" aria-label={label ?? title} sx={{ p: 1, display: "flex", flexDirection: "column", minHeight: 0, ...sx }}>
      <Typography variant="overline" component="h2" sx={{ lineHeight: 1.6, display: "flex", justifyContent: "space-between", alignItems: "center" }}>
        {title}
        {action}
      </Typography>
      {children}
    </Paper>
  );
}

/** Time series drawn as lines (lightweight-charts), one per name: the dashboards' charts. */
import { Box, useTheme } from "@mui/material";
import { ColorType, createChart, LineSeries, type IChartApi, type ISeriesApi, type UTCTimestamp } from "lightweight-charts";
import { useEffect, useRef } from "react";
import type { Point } from "../lib/dashboard";
import { Panel } from "./Panel";

/** Distinct enough on both themes; a symbol keeps its colour across charts by its place in the list. */
const COLOURS = ["#42a5f5", "#ef5350", "#66bb6a", "#ffa726", "#ab47bc", "#26c6da", "#d4e157", "#ec407a", "#8d6e63", "#78909c"];

export function SeriesChart({ title, series, label }: { title: string; series: ReadonlyMap<string, readonly Point[]>; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<IChartApi | null>(null);
  const lines = useRef(new Map<string, ISeriesApi<"Line">>());
  const theme = useTheme();
  useEffect(() => {
    const element = box.current;
    if (!element) return undefined;
    const created = createChart(element, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: theme.palette.background.paper }, textColor: theme.palette.text.secondary },
      grid: { vertLines: { color: theme.palette.divider }, horzLines: { color: theme.palette.divider } },
      timeScale: { timeVisible: true, secondsVisible: false },
    });
    chart.current = created;
    const drawn = lines.current;
    return () => {
      drawn.clear();
      chart.current = null;
      created.remove();
    };
  }, [theme]);
  useEffect(() => {
    const current = chart.current;
    if (!current) return;
    const names = [...series.keys()];
    names.forEach((name, index) => {
      let line = lines.current.get(name);
      if (!line) {
        line = current.addSeries(LineSeries, { color: COLOURS[index % COLOURS.length], lineWidth: 2, title: name, priceFormat: { type: "volume" } });
        lines.current.set(name, line);
      }
      line.setData((series.get(name) ?? []).map((point) => ({ time: point.time as UTCTimestamp, value: point.value })));
    });
    for (const [name, line] of lines.current) {
      if (!series.has(name)) {
        current.removeSeries(line);
        lines.current.delete(name);
      }
    }
  }, [series, theme]);
  const points = [...series.values()].reduce((total, points) => total + points.length, 0);
  const peak = [...series.values()].reduce((highest, points) => points.reduce((top, point) => Math.max(top, point.value), highest), 0);
  return (
    <Panel title={title} label={label} sx={{ flex: 1, minWidth: 360 }}>
      <Box ref={box} data-testid={`${label}-chart`} data-points={points} data-peak={peak} sx={{ flex: 1, minHeight: 220 }} />
    </Panel>
  );
}

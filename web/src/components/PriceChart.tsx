/** Candles with volume (lightweight-charts): one-minute bars, the last one live from the trade stream. */
import { Box, useTheme } from "@mui/material";
import { CandlestickSeries, ColorType, createChart, HistogramSeries, type UTCTimestamp } from "lightweight-charts";
import { useEffect, useRef } from "react";
import { unwrap, type Session } from "../api/session";
import { candleOf, drawn, withTrade, type Candle } from "../lib/bars";
import type { SymbolFeed } from "../lib/market";
import { Panel } from "./Panel";

const SECONDS = 60;

export function PriceChart({ session, feed, symbol }: { session: Session; feed: SymbolFeed; symbol: string }) {
  const box = useRef<HTMLDivElement>(null);
  const theme = useTheme();
  useEffect(() => {
    const element = box.current;
    if (!element) return undefined;
    const chart = createChart(element, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: theme.palette.background.paper }, textColor: theme.palette.text.secondary },
      grid: { vertLines: { color: theme.palette.divider }, horzLines: { color: theme.palette.divider } },
      timeScale: { timeVisible: true, secondsVisible: false },
    });
    const candles = chart.addSeries(CandlestickSeries, {
      upColor: theme.palette.success.main,
      downColor: theme.palette.error.main,
      wickUpColor: theme.palette.success.main,
      wickDownColor: theme.palette.error.main,
      borderVisible: false,
    });
    const volume = chart.addSeries(HistogramSeries, { priceScaleId: "volume", priceFormat: { type: "volume" }, color: theme.palette.info.main });
    chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    const draw = (candle: Candle) => {
      const time = candle.time as UTCTimestamp;
      candles.update({ time, open: drawn(candle.open), high: drawn(candle.high), low: drawn(candle.low), close: drawn(candle.close) });
      volume.update({ time, value: Number(candle.volume) });
    };
    let last: Candle | null = null;
    const progress = { loaded: false, cancelled: false };
    const early: Parameters<typeof withTrade>[1][] = [];
    const stop = feed.onTrade((trade) => {
      if (!progress.loaded) {
        early.push(trade);
        return;
      }
      const next = withTrade(last, trade, SECONDS);
      if (next !== null && next !== last) draw(next);
      last = next;
    });
        void (async () => {
      try {
        const start = new Date(Date.now() - 6 * 3600 * 1000).toISOString();
        const answer = unwrap(
          await session.api.GET("/market-data/historical", {
            params: { query: { symbol, interval: "BAR_INTERVAL_1M", start_time: start, page_size: 1000 } },
          }),
        );
        if (progress.cancelled) return;
        const bars = (answer.bars ?? []).map(candleOf).filter((candle): candle is Candle => candle !== null);
        bars.sort((a, b) => a.time - b.time);
        candles.setData(bars.map((c) => ({ time: c.time as UTCTimestamp, open: drawn(c.open), high: drawn(c.high), low: drawn(c.low), close: drawn(c.close) })));
        volume.setData(bars.map((c) => ({ time: c.time as UTCTimestamp, value: Number(c.volume) })));
        last = bars.at(-1) ?? null;
      } catch (error) {
        console.warn("bars unavailable", error);
      } finally {
        progress.loaded = true;
        for (const trade of early.splice(0)) {
          const next = withTrade(last, trade, SECONDS);
          if (next !== null && next !== last && !progress.cancelled) draw(next);
          last = next;
        }
      }
    })();
    return () => {
      progress.cancelled = true;
      stop();
      chart.remove();
    };
  }, [session, feed, symbol, theme]);
  return (
    <Panel title={`${symbol} · 1 min`} label="chart" sx={{ flex: 1 }}>
      <Box ref={box} data-testid="chart" sx={{ flex: 1, minHeight: 220 }} />
    </Panel>
  );
}

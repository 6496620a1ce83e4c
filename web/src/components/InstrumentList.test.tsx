import { act, fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import type { Instrument } from "../api/types";
import { QuotesFeed } from "../lib/market";
import { InstrumentList } from "./InstrumentList";

const INSTRUMENTS: Instrument[] = [
  { symbol: "AAPL", tick_size: "0.0100", reference_price: "190.0000" },
  { symbol: "F", tick_size: "0.0050", reference_price: "12.0000" },
];

class QuietSocket {
  static last: QuietSocket | null = null;
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor() {
    QuietSocket.last = this;
  }
  send() {}
  close() {}
}

function Harness({ feed }: { feed: QuotesFeed }) {
  const [selected, setSelected] = useState("AAPL");
  return <InstrumentList instruments={INSTRUMENTS} feed={feed} selected={selected} onSelect={setSelected} />;
}

describe("InstrumentList", () => {
  it("shows last, change and volume with each instrument's decimals, and moves with the arrow keys", async () => {
    const feed = new QuotesFeed(["AAPL", "F"], () => new QuietSocket() as unknown as WebSocket);
    render(<Harness feed={feed} />);
    act(() => {
      QuietSocket.last?.onmessage?.({ data: JSON.stringify({ type: "quote", data: { symbol: "F", last_price: "12.1250", volume: "1234567", reference_price: "12.0000" } }) });
    });
    const row = await screen.findByText("12.125");
    expect(row.closest("tr")).toHaveTextContent("F12.125+1.04%1,234,567");
    const table = screen.getByRole("table", { name: "instruments" });
    expect(screen.getByText("AAPL").closest("tr")).toHaveClass("Mui-selected");
    fireEvent.keyDown(table, { key: "ArrowDown" });
    expect(screen.getByText("F").closest("tr")).toHaveClass("Mui-selected");
    fireEvent.keyDown(table, { key: "ArrowUp" });
    expect(screen.getByText("AAPL").closest("tr")).toHaveClass("Mui-selected");
    feed.close();
  });
});

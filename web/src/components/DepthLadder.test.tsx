import { act, render, screen } from "@testing-library/react";
import { Profiler } from "react";
import { SymbolFeed } from "../lib/market";
import { DepthLadder } from "./DepthLadder";

/** A WebSocket the test feeds by hand. */
class FakeSocket {
  static last: FakeSocket | null = null;
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  readonly sent: string[] = [];
  constructor() {
    FakeSocket.last = this;
  }
  send(text: string) {
    this.sent.push(text);
  }
  close() {
    this.onclose?.();
  }
  deliver(message: unknown) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
}

describe("DepthLadder under a fast feed", () => {
  it("renders about once a frame under 1,000 updates, and subscribes to L2 and trades", async () => {
    const feed = new SymbolFeed("AAPL", () => new FakeSocket() as unknown as WebSocket);
    const socket = FakeSocket.last!;
    socket.onopen?.();
    expect(socket.sent.map((text) => JSON.parse(text) as unknown)).toEqual([
      { op: "subscribe", channel: "L2", symbol: "AAPL" },
      { op: "subscribe", channel: "TRADES", symbol: "AAPL" },
    ]);
    let renders = 0;
    render(
      <Profiler id="ladder" onRender={() => (renders += 1)}>
        <DepthLadder feed={feed} decimals={2} orders={[{ order_id: "1", symbol: "AAPL", side: "SIDE_BUY", price: "189.0000", leaves_quantity: "25" }]} onPrice={() => undefined} />
      </Profiler>,
    );
    act(() => socket.deliver({ type: "depth_snapshot", data: { symbol: "AAPL", bids: [{ price: "189.0000", quantity: "100" }], asks: [{ price: "191.0000", quantity: "100" }] } }));
    await act(() => new Promise((resolve) => setTimeout(resolve, 50)));
    // 1,000 messages, each in its own task as a WebSocket delivers them (not
    // in one act(), where React would batch them by itself).
    const actEnvironment = (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT;
    (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false;
    const before = renders;
    let frames = 0;
    const clock = setInterval(() => (frames += 1), 1000 / 60);
    for (let index = 1; index <= 1000; index += 1) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      socket.deliver({
        type: "depth_update",
        data: { channel_sequence: String(index), changes: [{ side: "SIDE_SELL", price: "191.0000", quantity: String(100 + index), action: "LEVEL_ACTION_UPDATE" }] },
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    clearInterval(clock);
    (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = actEnvironment;
    // About one render a frame however fast the messages come (each message
    // rendering on its own would be 1,000 renders).
    expect(renders - before).toBeGreaterThan(0);
    expect(renders - before).toBeLessThanOrEqual(frames + 2);
    expect(screen.getByText("1,100")).toBeInTheDocument();
    // One's own 25 at 189.00 shows beside the bid.
    expect(screen.getAllByTestId("own").map((cell) => cell.textContent)).toContain("25");
    feed.close();
  });
});

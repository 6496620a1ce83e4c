import { render, screen } from "@testing-library/react";
import userEventLibrary from "@testing-library/user-event";
import { Session } from "../api/session";
import type { ExecutionReport, Instrument } from "../api/types";
import { OrderTicket } from "./OrderTicket";

/** No pause between keystrokes: the tests are about what is typed, not how fast. */
const userEvent = userEventLibrary.setup({ delay: null });

const AAPL: Instrument = { symbol: "AAPL", tick_size: "0.0100", lot_size: "1", price_band_bps: 1000, reference_price: "190.0000" };

/** A bridge that answers POST /orders with `answer`, recording the bodies it got. */
function bridge(status: number, answer: unknown): { session: Session; bodies: unknown[] } {
  const bodies: unknown[] = [];
  const fetcher = async (input: RequestInfo | URL) => {
    const request = input as Request;
    bodies.push(await request.json());
    return new Response(JSON.stringify(answer), { status, headers: { "content-type": "application/json" } });
  };
  return { session: new Session("http://bridge.test", null, fetcher), bodies };
}

function ticket(session: Session, onReports: (reports: ExecutionReport[]) => void = () => undefined) {
  render(<OrderTicket session={session} accountId="DEMO" instrument={AAPL} lastPrice={undefined} pickedPrice={null} onReports={onReports} />);
}

describe("OrderTicket", () => {
  it("names an off-tick price and sends nothing", async () => {
    const { session, bodies } = bridge(200, {});
    ticket(session);
    await userEvent.type(screen.getByLabelText("Quantity"), "100");
    await userEvent.type(screen.getByLabelText("Price"), "190.005");
    await userEvent.click(screen.getByRole("button", { name: "Buy AAPL" }));
    expect(await screen.findByText("Price must be a multiple of the tick 0.01")).toBeInTheDocument();
    expect(bodies).toEqual([]);
  });

  it("sends exact decimal strings and hands the reports on", async () => {
    const report: ExecutionReport = { order_id: "7", exec_type: "EXEC_TYPE_NEW", order_status: "ORDER_STATUS_NEW" };
    const { session, bodies } = bridge(200, { order: { order_id: "7", status: "ORDER_STATUS_NEW" }, reports: [report] });
    const seen: ExecutionReport[][] = [];
    ticket(session, (reports) => seen.push(reports));
    await userEvent.click(screen.getByRole("button", { name: "Sell" }));
    await userEvent.type(screen.getByLabelText("Quantity"), "250");
    await userEvent.type(screen.getByLabelText("Price"), "190.1");
    await userEvent.type(screen.getByLabelText("Display qty (iceberg)"), "50");
    await userEvent.click(screen.getByRole("button", { name: "Sell AAPL" }));
    expect(await screen.findByText("Order 7 NEW")).toBeInTheDocument();
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toMatchObject({
      account_id: "DEMO",
      symbol: "AAPL",
      side: "SIDE_SELL",
      order_type: "ORDER_TYPE_LIMIT",
      time_in_force: "TIME_IN_FORCE_DAY",
      quantity: "250",
      price: "190.1000",
      display_quantity: "50",
    });
    expect(seen).toEqual([[report]]);
  });

  it("shows the server's refusal with its reason", async () => {
    const { session } = bridge(400, {
      code: 9,
      message: "order refused: risk buying power",
      details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "RISK_BUYING_POWER", domain: "stocktraderx.io" }],
    });
    ticket(session);
    await userEvent.type(screen.getByLabelText("Quantity"), "100000");
    await userEvent.type(screen.getByLabelText("Price"), "190");
    await userEvent.click(screen.getByRole("button", { name: "Buy AAPL" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Refused: RISK_BUYING_POWER: order refused: risk buying power");
  });

  it("offers stop prices for stop orders and only DAY, IOC, FOK for market orders", async () => {
    const { session } = bridge(200, {});
    ticket(session);
    await userEvent.click(screen.getByRole("combobox", { name: "Type" }));
    await userEvent.click(screen.getByRole("option", { name: "Stop limit" }));
    expect(screen.getByLabelText("Stop price")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("combobox", { name: "Type" }));
    await userEvent.click(screen.getByRole("option", { name: "Market" }));
    expect(screen.getByLabelText("Price")).toBeDisabled();
    await userEvent.click(screen.getByRole("combobox", { name: "Time in force" }));
    expect(screen.getAllByRole("option").map((option) => option.textContent)).toEqual(["DAY", "IOC", "FOK"]);
  });
});

import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { refusal, signedIn } from "../test-bridge";
import { ReportsPage } from "./ReportsPage";

const RITA = { user_id: "u1", username: "rita", roles: ["ROLE_TRADER"], account_ids: ["RITA"] };
const OFFICER = { user_id: "u2", username: "olga", roles: ["ROLE_RISK_OFFICER"], account_ids: [] };

describe("ReportsPage", () => {
  it("downloads a trader's fills of every page as CSV, zeros and quoting included", async () => {
    const { session, calls } = await signedIn(
      {
        "GET /api/analytics/accounts/RITA/trades": (call) =>
          call.query.get("page_token") === "1"
            ? [200, { fills: [{ transact_time: "2026-12-07T14:30:02Z", trade_id: "2", symbol: "AAPL", side: "SIDE_SELL", quantity: "40", price: "190.0500", notional: "7602.0000", order_id: "8", client_order_id: "a,b", liquidity: "LIQUIDITY_INDICATOR_MAKER", report_sequence: "2" }] }]
            : [200, { fills: [{ transact_time: "2026-12-07T14:30:01Z", trade_id: "1", symbol: "AAPL", side: "SIDE_BUY", quantity: "60", price: "190.0500", notional: "11403.0000", order_id: "7", liquidity: "LIQUIDITY_INDICATOR_TAKER", report_sequence: "1" }], next_page_token: "1" }],
      },
      RITA,
    );
    const saved: [string, string][] = [];
    render(<ReportsPage session={session} save={(name, text) => saved.push([name, text])} />);
    fireEvent.change(screen.getByLabelText("Day (UTC)"), { target: { value: "2026-12-07" } });
    expect(screen.queryByRole("button", { name: /RTS 22/ })).toBeNull(); // not a risk officer
    fireEvent.click(screen.getByRole("button", { name: "Trades" }));
    await waitFor(() => expect(saved).toHaveLength(1));
    const [name, text] = saved[0] ?? ["", ""];
    expect(name).toBe("trades-RITA-2026-12-07.csv");
    expect(text.split("\n")).toEqual([
      "transact_time,trade_id,symbol,side,quantity,price,notional,order_id,client_order_id,liquidity,report_sequence",
      "2026-12-07T14:30:01Z,1,AAPL,SIDE_BUY,60,190.0500,11403.0000,7,,LIQUIDITY_INDICATOR_TAKER,1",
      '2026-12-07T14:30:02Z,2,AAPL,SIDE_SELL,40,190.0500,7602.0000,8,"a,b",LIQUIDITY_INDICATOR_MAKER,2',
      "",
    ]);
    expect(calls.map((call) => call.query.get("date"))).toEqual(["2026-12-07", "2026-12-07"]);
  });

  it("gives a risk officer the compliance files and shows a refusal", async () => {
    const { session } = await signedIn(
      {
        "GET /api/analytics/compliance/execution-quality": () => [200, { date: "2026-12-07", symbols: [{ symbol: "AAPL", trade_count: "6", volume: "300", notional: "57090.0000", vwap: "190.3000", fill_ratio: "0.8000" }] }],
        "GET /api/analytics/compliance/transactions": () => [403, refusal(7, "FORBIDDEN", "not yours")],
      },
      OFFICER,
    );
    const saved: [string, string][] = [];
    render(<ReportsPage session={session} save={(name, text) => saved.push([name, text])} />);
    expect(screen.queryByRole("button", { name: "Trades" })).toBeNull(); // no accounts of its own
    fireEvent.click(screen.getByRole("button", { name: "Execution quality (RTS 27)" }));
    await waitFor(() => expect(saved).toHaveLength(1));
    const [name, text] = saved[0] ?? ["", ""];
    expect(name).toMatch(/^rts27-\d{4}-\d{2}-\d{2}\.csv$/);
    expect(text.split("\n")[1]).toBe("AAPL,6,300,57090.0000,190.3000,,0,,0,0,0,0.8000,,,0,0,0.0000,,,");
    fireEvent.click(screen.getByRole("button", { name: "Transaction reports (RTS 22)" }));
    expect(await screen.findByTestId("report-problem")).toHaveTextContent(/not yours/);
    expect(saved).toHaveLength(1);
  });

  it("gives a risk officer the year's execution venues and the day's latency", async () => {
    const { session, calls } = await signedIn(
      {
        "GET /api/analytics/compliance/execution-venues": () => [200, { from_date: "2026-01-01", to_date: "2026-03-02", summaries: [{ account_id: "T", instrument_class: "Equities - Shares & Depositary Receipts", trade_count: "5", execution_count: "5", volume: "380", passive_count: "2", aggressive_count: "3", passive_percentage: "40.0000", aggressive_percentage: "60.0000", volume_percentage: "100.0000", order_percentage: "100.0000", business_days: "44", below_one_trade_per_business_day: true }] }],
        "GET /api/analytics/latency": () => [200, { date: "2026-03-02", interval_seconds: 300, intervals: [{ start_time: "2026-03-02T14:30:00Z", command_count: "3", p50_nanos: "200000", p90_nanos: "300000", p99_nanos: "300000", max_nanos: "300000" }], day: {} }],
      },
      OFFICER,
    );
    const saved: [string, string][] = [];
    render(<ReportsPage session={session} save={(name, text) => saved.push([name, text])} />);
    fireEvent.change(screen.getByLabelText("Day (UTC)"), { target: { value: "2026-03-02" } });
    fireEvent.click(screen.getByRole("button", { name: /Execution venues \(RTS 28/ }));
    await waitFor(() => expect(saved).toHaveLength(1));
    expect(saved[0]?.[0]).toBe("rts28-2026-03-02.csv");
    expect(saved[0]?.[1].split("\n")[1]).toBe("T,Equities - Shares & Depositary Receipts,true,100.0000,100.0000,40.0000,60.0000,5,5,0,380,,2,3,0,44");
    expect([calls[0]?.query.get("from_date"), calls[0]?.query.get("to_date")]).toEqual(["2026-01-01", "2026-03-02"]);
    fireEvent.click(screen.getByRole("button", { name: "Latency per 5 minutes" }));
    await waitFor(() => expect(saved).toHaveLength(2));
    expect(saved[1]?.[1].split("\n")).toEqual([
      "start_time,command_count,p50_nanos,p90_nanos,p99_nanos,max_nanos",
      "2026-03-02T14:30:00Z,3,200000,300000,300000,300000",
      "",
    ]);
  });
});

import { render, screen, within } from "@testing-library/react";
import { movers } from "../lib/dashboard";
import { MoversTable } from "./MoversTable";

describe("MoversTable", () => {
  it("shows each symbol's close and change with its tick's decimals, and volume and trades as whole numbers", () => {
    const instruments = [
      { symbol: "AAPL", tick_size: "0.0100", reference_price: "190.0000" },
      { symbol: "PENNY", tick_size: "0.0005", reference_price: "1.0000" },
    ];
    const rows = movers(
      [
        { symbol: "AAPL", close_price: "191.9000", volume: "12500", trade_count: "42", vwap: "190.8123", notional: "2385153.75" },
        { symbol: "PENNY", close_price: "0.9005", volume: "1000000", trade_count: "7", vwap: "0.9500", notional: "950000" },
      ],
      instruments,
    );
    render(<MoversTable rows={rows} instruments={instruments} />);
    const table = screen.getByRole("table", { name: "top movers" });
    const penny = within(table).getAllByRole("row")[1];
    const aapl = within(table).getAllByRole("row")[2];
    expect(penny).toHaveAttribute("data-symbol", "PENNY");
    expect(within(penny as HTMLElement).getAllByRole("cell").map((cell) => cell.textContent)).toEqual([
      "PENNY", "0.9005", "-0.0995", "-9.95%", "1,000,000", "7", "0.9500", "950,000.00",
    ]);
    expect(within(aapl as HTMLElement).getAllByRole("cell").map((cell) => cell.textContent)).toEqual([
      "AAPL", "191.90", "+1.90", "+1.00%", "12,500", "42", "190.81", "2,385,153.75",
    ]);
  });

  it("says when nothing has traded", () => {
    render(<MoversTable rows={[]} instruments={[]} />);
    expect(screen.getByText("Nothing has traded today.")).toBeInTheDocument();
  });
});

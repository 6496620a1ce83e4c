import { applyUpdate, fromSnapshot } from "./book";

describe("book", () => {
  it("keeps levels sorted, best first, through adds, updates and deletes", () => {
    let book = fromSnapshot({
      bids: [{ price: "189.9000", quantity: "100" }, { price: "190.0000", quantity: "50" }],
      asks: [{ price: "190.2000", quantity: "10" }],
      channel_sequence: "7",
    });
    expect(book.bids.map((entry) => entry.price)).toEqual([1_900_000n, 1_899_000n]);
    book = applyUpdate(book, {
      channel_sequence: "8",
      changes: [
        { side: "SIDE_BUY", price: "190.05", quantity: "300", action: "LEVEL_ACTION_ADD" },
        { side: "SIDE_BUY", price: "189.9", quantity: "0", action: "LEVEL_ACTION_DELETE" },
        { side: "SIDE_SELL", price: "190.2000", quantity: "25", action: "LEVEL_ACTION_UPDATE" },
      ],
    });
    expect(book.bids.map((entry) => [entry.price, entry.quantity])).toEqual([
      [1_900_500n, 300n],
      [1_900_000n, 50n],
    ]);
    expect(book.asks).toEqual([{ price: 1_902_000n, quantity: 25n, orders: 0 }]);
    expect(book.channelSequence).toBe(8n);
  });
});

// The StockTraderX example client for Node.js: signs in, crosses two orders
// so that a trade happens while it follows the execution reports on the
// OrderStream, cancels a resting order, decodes the error details of a
// refused one, and reads the market data of the trade. It prints each step
// and exits 1 at the first answer that differs from what it expected (2 for
// bad arguments). README.md beside it says how to run it.
import process from "node:process";
import { type ChannelCredentials, type ClientReadableStream, status } from "@grpc/grpc-js";
import {
  CancelOrderRequest,
  Code,
  ExecType,
  GetDepthRequest,
  GetInstrumentRequest,
  GetQuoteRequest,
  type ExecutionReport,
  LiquidityIndicator,
  ListTradesRequest,
  LoginRequest,
  MarketDataChannel,
  MarketDataServiceClient,
  OrderServiceClient,
  OrderStatus,
  OrderStreamRequest,
  OrderType,
  PlaceOrderRequest,
  type Quote,
  ReferenceDataServiceClient,
  RejectReason,
  Side,
  type SubscribeMarketDataResponse,
  TimeInForce,
  UserServiceClient,
  execTypeToJSON,
} from "./api.js";
import { Checks, Mismatch } from "./checks.js";
import { bearer, call, channelCredentials, errorDetails, isServiceError } from "./connection.js";
import { formatPrice } from "./money.js";
import { type Options, USAGE, readOptions } from "./options.js";
import { prepareAccounts } from "./prepare.js";
import { ReportLog } from "./reports.js";

const say = (line: string) => console.log(line);

async function run(options: Options, check: Checks): Promise<void> {
  const { target, symbol, price, quantity, seller, buyer } = options;
  const channel = channelCredentials(options.tls);
  const users = new UserServiceClient(target, channel);
  const login = await call(
    users.login.bind(users),
    LoginRequest.fromPartial({ username: options.username, password: options.password }),
  );
  users.close();
  check.that(login.accessToken !== "", "the sign-in answered an access token");
  say(`signed in as ${options.username} (token valid for ${login.expiresIn} s)`);
  const auth = bearer(login.accessToken);

  const tick = await tickSize(target, channel, symbol);
  check.that(price % tick === 0n, `${formatPrice(price)} is on the tick of ${symbol}`);
  if (options.prepare) {
    const cash = price * quantity * 3n;
    await prepareAccounts(target, channel, auth, seller, buyer, cash, say);
  }

  const orders = new OrderServiceClient(target, channel);
  const stream = orders.orderStream(auth);
  const log = new ReportLog(stream);
  // Client order ids are unique per account for good: one tag per run.
  const tag = Date.now().toString(36);
  const id = (step: string) => `node-${tag}-${step}`;
  const limit = (account: string, step: string, side: Side, at: bigint) =>
    PlaceOrderRequest.fromPartial({
      accountId: account,
      clientOrderId: id(step),
      symbol,
      side,
      orderType: OrderType.ORDER_TYPE_LIMIT,
      timeInForce: TimeInForce.TIME_IN_FORCE_DAY,
      price: at,
      quantity,
    });
  const byStep = (step: string, type: ExecType) => (report: ExecutionReport) =>
    report.clientOrderId === id(step) && report.execType === type;

  // 1. A sell order rests. Subscriptions come first within a message, so
  // both accounts are followed live once its report is back.
  stream.write(
    OrderStreamRequest.fromPartial({
      subscriptions: [{ accountId: seller }, { accountId: buyer }],
      commands: [
        { command: { $case: "place", value: limit(seller, "sell", Side.SIDE_SELL, price) } },
      ],
    }),
  );
  const resting = await log.next(
    "NEW report of the sell order",
    byStep("sell", ExecType.EXEC_TYPE_NEW),
  );
  check.equal(resting.orderStatus, OrderStatus.ORDER_STATUS_NEW, "the sell order's status");
  say(
    `#${resting.orderId} sell ${quantity} ${symbol} @ ${formatPrice(price)} for ${seller}: ` +
      `new (report ${resting.reportSequence})`,
  );

  // 2. A buy order at the same price crosses it: one trade, two fills.
  stream.write(
    OrderStreamRequest.fromPartial({
      commands: [{ command: { $case: "place", value: limit(buyer, "buy", Side.SIDE_BUY, price) } }],
    }),
  );
  const bought = await log.next("fill of the buy order", byStep("buy", ExecType.EXEC_TYPE_FILL));
  const sold = await log.next("fill of the sell order", byStep("sell", ExecType.EXEC_TYPE_FILL));
  for (const [fill, side] of [
    [bought, "buy"],
    [sold, "sell"],
  ] as const) {
    check.equal(fill.lastQuantity, quantity, `the ${side} fill's quantity`);
    check.equal(fill.lastPrice, price, `the ${side} fill's price`);
    check.equal(fill.leavesQuantity, 0n, `the ${side} order's open quantity`);
  }
  check.that(bought.tradeId !== 0n, "the fill names its trade");
  check.equal(sold.tradeId, bought.tradeId, "both fills' trade id");
  check.equal(
    bought.liquidity,
    LiquidityIndicator.LIQUIDITY_INDICATOR_TAKER,
    "the buyer's liquidity",
  );
  check.equal(
    sold.liquidity,
    LiquidityIndicator.LIQUIDITY_INDICATOR_MAKER,
    "the seller's liquidity",
  );
  const trade = bought.tradeId;
  say(
    `trade #${trade}: ${buyer} bought ${quantity} ${symbol} @ ${formatPrice(price)} from ${seller} ` +
      `(reports ${bought.reportSequence} of ${buyer} and ${sold.reportSequence} of ${seller} on the stream)`,
  );

  // 3. A resting order, placed and cancelled with unary calls; its reports
  // reach the stream too, which follows the account.
  const below = price - 100n * tick;
  const placed = await call(
    orders.placeOrder.bind(orders),
    limit(buyer, "rest", Side.SIDE_BUY, below),
    auth,
  );
  const order = placed.order;
  check.equal(order?.status, OrderStatus.ORDER_STATUS_NEW, "the resting order's status");
  const orderId = order?.orderId ?? 0n;
  say(`#${orderId} buy ${quantity} ${symbol} @ ${formatPrice(below)} for ${buyer}: new`);
  const cancelled = await call(
    orders.cancelOrder.bind(orders),
    CancelOrderRequest.fromPartial({ orderId, accountId: buyer }),
    auth,
  );
  check.equal(
    cancelled.order?.status,
    OrderStatus.ORDER_STATUS_CANCELED,
    "the cancelled order's status",
  );
  const report = await log.next("CANCELED report", byStep("rest", ExecType.EXEC_TYPE_CANCELED));
  check.equal(report.leavesQuantity, 0n, "the cancelled order's open quantity");
  say(`#${orderId} cancelled (report ${report.reportSequence} on the stream)`);

  // 4. An order off the tick is refused: the status carries a google.rpc
  // ErrorInfo (the reject reason) and a BadRequest naming the field.
  check.that(tick > 1n, `${symbol} has a tick above 0.0001, so that a price can be off it`);
  const offTick = price + tick / 2n;
  try {
    await call(
      orders.placeOrder.bind(orders),
      limit(buyer, "off-tick", Side.SIDE_BUY, offTick),
      auth,
    );
    throw new Mismatch(
      `an order at ${formatPrice(offTick)} (off the tick of ${symbol}) was accepted`,
    );
  } catch (error) {
    if (!isServiceError(error)) {
      throw error;
    }
    const details = errorDetails(error);
    check.equal(details.code, Code.INVALID_ARGUMENT, "the refusal's status code");
    check.equal(details.errorInfo?.reason, "PRICE_NOT_ON_TICK", "the refusal's ErrorInfo reason");
    check.equal(details.errorInfo?.domain, "stocktraderx.io", "the refusal's ErrorInfo domain");
    const fields = details.badRequest?.fieldViolations.map((violation) => violation.field) ?? [];
    check.that(
      fields.includes("price"),
      `the refusal's BadRequest names price (it names ${fields})`,
    );
    say(`@ ${formatPrice(offTick)} refused: ${details.errorInfo?.reason} (${details.message})`);
  }
  const refused = await log.next(
    "REJECTED report",
    byStep("off-tick", ExecType.EXEC_TYPE_REJECTED),
  );
  check.equal(
    refused.rejectReason,
    RejectReason.REJECT_REASON_PRICE_NOT_ON_TICK,
    "the REJECTED report's reason",
  );

  // 5. Every report of each account reached the stream, numbered without gap.
  for (const account of new Set([seller, buyer])) {
    const numbers = log.of(account).map((each) => each.reportSequence);
    const gaps = numbers.filter((number, index) => index > 0 && number !== numbers[index - 1] + 1n);
    check.equal(gaps.length, 0, `gaps in ${account}'s report sequence ${numbers.join(",")}`);
    say(`${account}: ${numbers.length} reports on the stream, ${describe(log.of(account))}`);
  }
  stream.end();
  orders.close();

  // 6. Market data shows the trade.
  const market = new MarketDataServiceClient(target, channel);
  try {
    const quote = (
      await call(market.getQuote.bind(market), GetQuoteRequest.fromPartial({ symbol }))
    ).quote;
    check.equal(quote?.lastPrice, price, "the quote's last price");
    check.equal(quote?.lastQuantity, quantity, "the quote's last quantity");
    const last = `${formatPrice(quote?.lastPrice ?? 0n)} x ${quote?.lastQuantity}`;
    say(`quote ${symbol}: last ${last}, volume ${quote?.volume}`);
    const depth = (
      await call(market.getDepth.bind(market), GetDepthRequest.fromPartial({ symbol, depth: 10 }))
    ).depth;
    const bids = depth?.bids ?? [];
    check.that(
      !bids.some((level) => level.price === below),
      `no bid left at ${formatPrice(below)}`,
    );
    say(`depth ${symbol}: ${bids.length} bid and ${depth?.asks.length ?? 0} ask levels`);
    // ListTrades reads the store, which the projector fills from the journal
    // a moment after the trade: ask again for a few seconds.
    const listed = await eventually(`trade #${trade} in ListTrades`, async () => {
      const page = await call(
        market.listTrades.bind(market),
        ListTradesRequest.fromPartial({ symbol, pageSize: 100 }),
      );
      return page.trades.find((each) => each.tradeId === trade);
    });
    check.equal(listed.quantity, quantity, `trade #${trade}'s quantity in ListTrades`);
    check.equal(listed.aggressorSide, Side.SIDE_BUY, `trade #${trade}'s aggressor`);
    say(`ListTrades ${symbol}: trade #${trade}, ${listed.quantity} @ ${formatPrice(listed.price)}`);
    const live = await firstQuote(
      market.subscribeMarketData({
        symbols: [symbol],
        channels: [MarketDataChannel.MARKET_DATA_CHANNEL_L1],
      }),
    );
    check.equal(live.lastPrice, price, "the streamed quote's last price");
    say(`SubscribeMarketData ${symbol}: quote snapshot, last ${formatPrice(live.lastPrice)}`);
  } finally {
    market.close();
  }
}

/** The first defined answer of `attempt`, asked every 100 ms for 5 s. */
async function eventually<T>(what: string, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const answer = await attempt();
    if (answer !== undefined) {
      return answer;
    }
    if (Date.now() > deadline) {
      throw new Mismatch(`no ${what} within 5 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function tickSize(
  target: string,
  channel: ChannelCredentials,
  symbol: string,
): Promise<bigint> {
  const reference = new ReferenceDataServiceClient(target, channel);
  try {
    const { instrument } = await call(
      reference.getInstrument.bind(reference),
      GetInstrumentRequest.fromPartial({ symbol }),
    );
    return instrument?.tickSize ?? 1n;
  } finally {
    reference.close();
  }
}

/** The first quote a market data stream sends (its snapshot), then cancel it. */
function firstQuote(stream: ClientReadableStream<SubscribeMarketDataResponse>): Promise<Quote> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.cancel();
      reject(new Error("no quote on SubscribeMarketData within 10 s"));
    }, 10_000);
    stream.on("data", (response: SubscribeMarketDataResponse) => {
      if (response.event?.$case === "quote") {
        clearTimeout(timer);
        stream.cancel();
        resolve(response.event.value);
      }
    });
    stream.on("error", (error: Error) => {
      clearTimeout(timer);
      if (!(isServiceError(error) && error.code === status.CANCELLED)) {
        reject(error);
      }
    });
  });
}

function describe(reports: ExecutionReport[]): string {
  return reports
    .map((report) => execTypeToJSON(report.execType).replace("EXEC_TYPE_", ""))
    .join(" ");
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = readOptions(process.argv.slice(2), process.env);
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : error}\n${USAGE}`);
    return 2;
  }
  const check = new Checks();
  try {
    await run(options, check);
  } catch (error) {
    if (error instanceof Mismatch) {
      const passed = check.passed === 1 ? "1 check" : `${check.passed} checks`;
      console.error(`MISMATCH: ${error.message} (${passed} passed before it)`);
    } else if (isServiceError(error)) {
      const details = errorDetails(error);
      const code = Code[details.code] ?? `${details.code}`;
      const reason = details.errorInfo?.reason;
      const named = reason === undefined || reason === code ? code : `${code} ${reason}`;
      console.error(`failed: ${named}: ${details.message}`);
    } else {
      console.error(`failed: ${error instanceof Error ? error.stack : error}`);
    }
    return 1;
  }
  say(`all ${check.passed} checks passed`);
  return 0;
}

process.exitCode = await main();

// The web frontend end to end, in a real browser (Debian's chromium through
// playwright-core) against a real `stx serve --simulate` and the web front
// (server/gateways/web.py). Started by tests/e2e/test_web.py, which gives:
//   WEB_URL                   the web front's base URL
//   TRADER_USER, TRADER_PASSWORD   a trader whose account starts flat (DEMO)
//   OTHER_USER, OTHER_PASSWORD     an administrator who also trades (ADMIN, may sell short)
//   OTHER_ACCOUNT             that user's account, which the trader must not reach
//   SCREENSHOTS               where to write the pages' screenshots
//   CHROMIUM                  the browser (default /usr/bin/chromium)
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";

const WEB_URL = process.env.WEB_URL ?? "http://127.0.0.1:3000";
const SCREENSHOTS = process.env.SCREENSHOTS ?? "test-results";
const SYMBOL = "AAPL";
const LONG = 20_000;
mkdirSync(SCREENSHOTS, { recursive: true });

let browser;
let trader;
let other;

async function signIn(context, username, password) {
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`page error (${username}):`, error.message));
  await page.goto(WEB_URL);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("signed-in-user").waitFor({ timeout: LONG });
  return page;
}

function ticket(page) {
  return page.getByRole("region", { name: "order ticket" });
}

/** Fill the ticket and send it; the order id of the answer, or the refusal's text. */
async function placeOrder(page, { side, quantity, price }) {
  const form = ticket(page);
  await form.getByRole("button", { name: side === "SELL" ? "Sell" : "Buy", exact: true }).click();
  await form.getByLabel("Quantity", { exact: true }).fill(String(quantity));
  await form.getByLabel("Price", { exact: true }).fill(price);
  const outcome = form.getByTestId("ticket-outcome");
  await form.getByRole("button", { name: new RegExp(`^(Buy|Sell) ${SYMBOL}$`) }).click();
  await outcome.waitFor({ timeout: LONG });
  const text = await outcome.innerText();
  const placed = /Order (\d+)/.exec(text);
  return placed ? { orderId: placed[1], text } : { orderId: null, text };
}

async function bestBid(page) {
  const row = page.locator('section[aria-label="depth ladder"] tr[data-side="SIDE_BUY"]').first();
  await row.waitFor({ timeout: LONG });
  return { price: await row.getAttribute("data-price"), quantity: Number((await row.locator("td").nth(1).innerText()).replace(/,/g, "")) };
}

before(async () => {
  // playwright-core gives each launch a fresh, temporary user-data-dir of its own.
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const viewport = { width: 1600, height: 1000 };
  trader = await browser.newContext({ viewport });
  other = await browser.newContext({ viewport });
});

after(async () => {
  await browser?.close();
});

test("a wrong password is refused with its reason", async () => {
  const page = await trader.newPage();
  await page.goto(WEB_URL);
  await page.getByLabel("Username").fill(process.env.TRADER_USER);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: "UNAUTHENTICATED" }).waitFor({ timeout: LONG });
  await page.screenshot({ path: join(SCREENSHOTS, "sign-in.png") });
  await page.close();
});

test("a new user registers and is signed in with an account of their own", async () => {
  const page = await trader.newPage();
  await page.goto(WEB_URL);
  const username = `web${Date.now().toString(36)}`;
  await page.getByRole("tab", { name: "Register" }).click();
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("E-mail").fill(`${username}@example.com`);
  await page.getByLabel("Password").fill("a long enough password 1");
  await page.getByRole("button", { name: "Register" }).click();
  await page.getByTestId("signed-in-user").filter({ hasText: username }).waitFor({ timeout: LONG });
  await page.getByRole("region", { name: "account" }).filter({ hasText: username.toUpperCase() }).waitFor({ timeout: LONG });
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("button", { name: "Sign in" }).waitFor({ timeout: LONG });
  await page.close();
});

test("trade: a limit order on the ladder, crossed by another user, filled, position changed; cancel; refusals; BOLA", async () => {
  const page = await signIn(trader, process.env.TRADER_USER, process.env.TRADER_PASSWORD);
  await page.locator(`tr[data-symbol="${SYMBOL}"]`).click();
  // 1. A limit buy joining the best bid shows on the ladder as one's own quantity.
  //    The simulator trades all the while: on a loaded machine the ladder read
  //    can be behind the market, and a buy at a best bid that has since moved
  //    up to the offer trades at once. Such an order is not on the book to be
  //    seen: read the ladder again and place another until one rests whole.
  const quantity = 37;
  let bid;
  let placed;
  for (let attempt = 1; ; attempt += 1) {
    bid = await bestBid(page);
    placed = await placeOrder(page, { side: "BUY", quantity, price: bid.price });
    assert.ok(placed.orderId, `the order was refused: ${placed.text}`);
    if (/ NEW$/.test(placed.text) || attempt === 5) break;
    await page.waitForTimeout(500);
  }
  assert.match(placed.text, / NEW$/, "five orders at the best bid all traded at once");
  await page.locator(`tr[data-order-id="${placed.orderId}"]`).waitFor({ timeout: LONG });
  const mine = page.locator(`section[aria-label="depth ladder"] tr[data-side="SIDE_BUY"][data-price="${bid.price}"] [data-testid="own"]`);
  await mine.filter({ hasText: String(quantity) }).waitFor({ timeout: LONG });
  await page.screenshot({ path: join(SCREENSHOTS, "trading.png") });

  // 2. Another user sells into it (more than the whole level, so the simulator's
  //    orders ahead of ours cannot leave ours unfilled); the trader sees the fill
  //    and the position.
  const seller = await signIn(other, process.env.OTHER_USER, process.env.OTHER_PASSWORD);
  await seller.locator(`tr[data-symbol="${SYMBOL}"]`).click();
  const crossing = await placeOrder(seller, { side: "SELL", quantity: bid.quantity + quantity + 2_000, price: bid.price });
  assert.ok(crossing.orderId, `the crossing order was refused: ${crossing.text}`);
  await page.locator(`tr[data-order-id="${placed.orderId}"]`).waitFor({ state: "detached", timeout: LONG });
  await page.getByRole("tab", { name: /Fills/ }).click();
  await page.locator(`tr[data-fill-order-id="${placed.orderId}"]`).first().waitFor({ timeout: LONG });
  const position = page.locator(`tr[data-position="${SYMBOL}"] [data-testid="position-quantity"]`);
  await position.waitFor({ timeout: LONG });
  assert.notEqual((await position.innerText()).trim(), "0");
  await page.screenshot({ path: join(SCREENSHOTS, "filled.png") });
  await page.getByRole("tab", { name: /Open orders/ }).click();

  // 3. Amend, then cancel: an order far from the market takes a new quantity,
  //    then leaves the open orders.
  const low = (BigInt(bid.price.replace(".", "")) * 97n) / 100n;
  const lowPrice = `${low / 100n}.${(low % 100n).toString().padStart(2, "0")}`;
  const resting = await placeOrder(page, { side: "BUY", quantity: 5, price: lowPrice });
  assert.ok(resting.orderId, `the resting order was refused: ${resting.text}`);
  const row = page.locator(`tr[data-order-id="${resting.orderId}"]`);
  await row.getByRole("button", { name: "Amend" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Quantity").fill("8");
  await dialog.getByRole("button", { name: "Amend" }).click();
  await dialog.waitFor({ state: "detached", timeout: LONG });
  await row.locator("td").nth(7).filter({ hasText: /^8$/ }).waitFor({ timeout: LONG });
  await row.getByRole("button", { name: "Cancel" }).click();
  await row.waitFor({ state: "detached", timeout: LONG });

  // 4. The ticket names a price off the tick before sending; the server's
  //    refusal (a sell the account cannot cover) is shown with its reason.
  const form = ticket(page);
  await form.getByLabel("Price", { exact: true }).fill("190.005");
  await form.getByRole("button", { name: `Buy ${SYMBOL}` }).click();
  await form.getByText(/multiple of the tick 0.01/).waitFor({ timeout: LONG });
  const refused = await placeOrder(page, { side: "SELL", quantity: 10_000, price: bid.price });
  assert.equal(refused.orderId, null);
  assert.match(refused.text, /^Refused: RISK_INSUFFICIENT_POSITION: ./);
  await page.screenshot({ path: join(SCREENSHOTS, "refused.png") });

  // 5. BOLA: with the page's own token and API route, another user's account
  //    and an order for it are refused.
  const attempts = await page.evaluate(async (account) => {
    const { access } = JSON.parse(sessionStorage.getItem("stx.session"));
    const headers = { authorization: `Bearer ${access}`, "content-type": "application/json" };
    const read = await fetch(`/api/accounts/${account}`, { headers });
    const order = await fetch("/api/orders", {
      method: "POST",
      headers,
      body: JSON.stringify({ account_id: account, client_order_id: "bola-1", symbol: "AAPL", side: "SIDE_BUY", order_type: "ORDER_TYPE_LIMIT", quantity: "1", price: "100" }),
    });
    return [
      { status: read.status, body: await read.json() },
      { status: order.status, body: await order.json() },
    ];
  }, process.env.OTHER_ACCOUNT);
  for (const attempt of attempts) {
    assert.ok([403, 404].includes(attempt.status), JSON.stringify(attempt));
    assert.match(attempt.body.details[0].reason, /^(FORBIDDEN|UNKNOWN_ACCOUNT)$/);
  }

  // Light theme, for the README.
  await page.getByRole("button", { name: "switch theme" }).click();
  await page.screenshot({ path: join(SCREENSHOTS, "trading-light.png") });
  await page.getByRole("button", { name: "switch theme" }).click();
  await seller.close();
  await page.close();
});

test("the risk officer kills an account and its orders disappear", async () => {
  const page = await signIn(trader, process.env.TRADER_USER, process.env.TRADER_PASSWORD);
  await page.locator(`tr[data-symbol="${SYMBOL}"]`).click();
  const bid = await bestBid(page);
  const low = (BigInt(bid.price.replace(".", "")) * 96n) / 100n;
  const resting = await placeOrder(page, { side: "BUY", quantity: 3, price: `${low / 100n}.${(low % 100n).toString().padStart(2, "0")}` });
  assert.ok(resting.orderId, resting.text);
  const row = page.locator(`tr[data-order-id="${resting.orderId}"]`);
  await row.waitFor({ timeout: LONG });

  const officer = await signIn(other, process.env.OTHER_USER, process.env.OTHER_PASSWORD);
  await officer.getByRole("tab", { name: "Risk" }).click();
  await officer.getByRole("textbox", { name: "Account" }).fill(process.env.TRADER_ACCOUNT);
  await officer.getByRole("button", { name: "Kill" }).click();
  await officer.getByRole("status").filter({ hasText: "Kill switch on" }).waitFor({ timeout: LONG });
  await row.waitFor({ state: "detached", timeout: LONG });
  await officer.screenshot({ path: join(SCREENSHOTS, "risk.png") });

  // Blocked now: a new order is refused with the kill switch's reason.
  const blocked = await placeOrder(page, { side: "BUY", quantity: 1, price: bid.price });
  assert.match(blocked.text, /Refused: KILL_SWITCH_ACTIVE/);
  await officer.getByRole("button", { name: "Reset" }).click();
  await officer.getByRole("status").filter({ hasText: "Kill switch off" }).waitFor({ timeout: LONG });

  // Limits and their usage, and a limit changed.
  await officer.getByRole("button", { name: "Look up" }).click();
  await officer.getByTestId("risk-usage").waitFor({ timeout: LONG });
  await officer.getByLabel("Max open orders").fill("500");
  await officer.getByRole("button", { name: "Save limits" }).click();
  await officer.getByRole("status").filter({ hasText: `Limits of ${process.env.TRADER_ACCOUNT} saved` }).waitFor({ timeout: LONG });
  await officer.getByLabel("Max open orders").and(officer.locator('[value="500"]')).waitFor({ timeout: LONG });
  await officer.screenshot({ path: join(SCREENSHOTS, "risk-limits.png") });
  await officer.close();
  await page.close();
});

test("the administrator: API keys, an account funded, the order-event audit trail; the dashboards with the simulator's data", async () => {
  const admin = await signIn(other, process.env.OTHER_USER, process.env.OTHER_PASSWORD);
  await admin.getByRole("tab", { name: "Admin" }).click();
  await admin.getByRole("table", { name: "user list" }).waitFor({ timeout: LONG });

  // A key is created; its secret is shown once, and the key is listed.
  const keys = admin.getByRole("region", { name: "api keys" });
  await keys.getByLabel("Label").fill("e2e robot");
  await keys.getByRole("button", { name: "Create key" }).click();
  const secret = keys.getByTestId("api-key-secret");
  await secret.waitFor({ timeout: LONG });
  assert.match(await secret.innerText(), /shown only now, copy it: \S{16,}/);
  await keys.getByRole("table", { name: "api key list" }).getByText("e2e robot").waitFor({ timeout: LONG });

  // The trader's account looked up and funded.
  const accounts = admin.getByRole("region", { name: "accounts" });
  await accounts.getByLabel("Account id").fill(process.env.TRADER_ACCOUNT);
  await accounts.getByRole("button", { name: "Look up" }).click();
  await accounts.getByTestId("account-cash").waitFor({ timeout: LONG });
  await accounts.getByLabel("Amount").fill("100");
  await accounts.getByLabel("Reason").fill("e2e credit");
  await accounts.getByRole("button", { name: "Fund" }).click();
  await accounts.getByTestId("account-message").filter({ hasText: `Funded ${process.env.TRADER_ACCOUNT} with 100` }).waitFor({ timeout: LONG });

  // The day's order-event audit trail, every account. The analytics process
  // writes it behind the engine, far behind under the simulator's flow on a
  // loaded machine (its rows may not be there yet): the page must show the
  // route's answer, the events or that there are none, never a refusal.
  const audit = admin.getByRole("region", { name: "audit trail" });
  await audit.getByRole("button", { name: "Read events" }).click();
  await audit.getByRole("table", { name: "order events" }).or(audit.getByText("No order events that day.")).waitFor({ timeout: LONG });
  assert.equal(await audit.getByRole("alert").count(), 0, await audit.innerText());
  await admin.screenshot({ path: join(SCREENSHOTS, "admin.png"), fullPage: true });

  // The dashboards: movers of the day, and per-minute charts with points.
  await admin.getByRole("tab", { name: "Dashboards" }).click();
  // The movers come from the analytics process too (see above); the charts from the bars, which follow the engine closely.
  const movers = admin.getByRole("region", { name: "top movers panel" });
  await movers.getByRole("table", { name: "top movers" }).or(movers.getByText("Nothing has traded today.")).waitFor({ timeout: LONG });
  for (const chart of ["volume", "trades", "throughput"]) {
    await admin.locator(`[data-testid="${chart}-chart"]:not([data-points="0"])`).waitFor({ timeout: LONG });
  }
  await admin.screenshot({ path: join(SCREENSHOTS, "dashboards.png"), fullPage: true });
  await admin.close();
});

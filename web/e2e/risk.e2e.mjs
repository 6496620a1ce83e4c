// The risk officer's live surveillance alerts, in a real browser (Debian's
// chromium through playwright-core) against a real `stx serve --simulate`:
// the administrator creates a user whose only role is risk officer; with
// that officer's risk page open (every account with its limits and usage,
// and the alerts), the administrator's account trades with itself through
// the API, the surveillance process raises the alert, and it appears on the
// officer's page without a reload, with its evidence; then the dashboards
// chart the gateway's order entry, which that trading (and the simulator's)
// made non-zero. Started by tests/e2e/test_web.py with the environment
// trading.e2e.mjs describes; the user OTHER_USER is an administrator who may
// trade, whose account OTHER_ACCOUNT may sell short.
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
let context;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
});

after(async () => {
  await browser?.close();
});

async function signIn(username, password) {
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`page error (${username}):`, error.message));
  await page.goto(WEB_URL);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("signed-in-user").waitFor({ timeout: LONG });
  return page;
}

/**
 * A wash trade by `account` with itself, through the page's own API route
 * and token: a sell joining the best ask, then an IOC buy at that price for
 * more than the level held before it, so it reaches the account's own sell
 * (asks that come later at that price queue behind it; what is left of the
 * IOC buy is cancelled, and nothing beyond the best ask is touched).
 * Self-trade prevention is off, as surveillance exists for those who turn it off.
 */
function washTrade(page, account) {
  return page.evaluate(
    async ({ account, symbol }) => {
      const { access } = JSON.parse(sessionStorage.getItem("stx.session"));
      const headers = { authorization: `Bearer ${access}`, "content-type": "application/json" };
      const depth = await (await fetch(`/api/market-data/${symbol}/depth?depth=1`, { headers })).json();
      const { price, quantity: ahead } = depth.depth.asks[0];
      const order = (side, quantity, tif) => ({
        account_id: account, client_order_id: `wash-${side}-${Date.now()}`, symbol, side,
        order_type: "ORDER_TYPE_LIMIT", time_in_force: tif, quantity: String(quantity), price,
        self_trade_prevention: "SELF_TRADE_PREVENTION_NONE",
      });
      const place = async (body) => {
        const answer = await fetch("/api/orders", { method: "POST", headers, body: JSON.stringify(body) });
        return { status: answer.status, body: await answer.json() };
      };
      const sell = await place(order("SIDE_SELL", 50, "TIME_IN_FORCE_DAY"));
      const buy = await place(order("SIDE_BUY", Number(ahead) + 50 + 500, "TIME_IN_FORCE_IOC"));
      return { price, sell, buy };
    },
    { account, symbol: SYMBOL },
  );
}

/** A new user with the risk officer's role alone, created by the administrator signed in on `page`. */
async function createRiskOfficer(page) {
  const username = `risk${Date.now().toString(36)}`;
  const password = "a long enough password 1";
  const created = await page.evaluate(
    async ({ username, password }) => {
      const { access } = JSON.parse(sessionStorage.getItem("stx.session"));
      const answer = await fetch("/api/admin/users", {
        method: "POST",
        headers: { authorization: `Bearer ${access}`, "content-type": "application/json" },
        body: JSON.stringify({ username, email: `${username}@example.com`, password, roles: ["ROLE_RISK_OFFICER"] }),
      });
      return { status: answer.status, body: await answer.text() };
    },
    { username, password },
  );
  assert.equal(created.status, 200, created.body);
  return { username, password };
}

test("the risk officer sees a surveillance alert raised while the page is open, with its evidence", async () => {
  // The administrator (who may also trade) makes a risk officer, who watches
  // while the administrator's account trades with itself.
  const trader = await signIn(process.env.OTHER_USER, process.env.OTHER_PASSWORD);
  const { username, password } = await createRiskOfficer(trader);
  const officer = await signIn(username, password);
  await officer.getByRole("tab", { name: "Risk" }).click();
  // Live: the stream is subscribed and the list read after it.
  await officer.locator('[data-testid="alerts-live"][data-live="true"]').waitFor({ timeout: LONG });
  const panel = officer.getByRole("region", { name: "surveillance alerts" });
  const account = process.env.OTHER_ACCOUNT;
  // Every account with its limits and usage, on the risk page too.
  await officer
    .getByRole("table", { name: "account list" })
    .getByRole("cell", { name: account, exact: true })
    .first()
    .waitFor({ timeout: LONG });
  const washes = panel.locator(`tr[data-alert-kind="ALERT_KIND_WASH_TRADE"][data-alert-account="${account}"]`);
  const before = new Set(await washes.evaluateAll((rows) => rows.map((row) => row.getAttribute("data-alert-id"))));

  // The orders go through the trader's page's own API client, apart from any
  // UI: the officer's page is not reloaded, and must be told by /ws.
  const made = await washTrade(trader, account);
  assert.equal(made.sell.status, 200, JSON.stringify(made.sell));
  assert.equal(made.buy.status, 200, JSON.stringify(made.buy));

  const known = [...before].map((id) => `:not([data-alert-id="${id}"])`).join("");
  const row = panel.locator(`tr[data-alert-kind="ALERT_KIND_WASH_TRADE"][data-alert-account="${account}"]${known}`).first();
  await row.waitFor({ timeout: LONG });
  const evidence = await row.getByTestId("alert-evidence").innerText();
  assert.match(evidence, /orders \d+,\d+/);
  assert.match(evidence, /trades \d+/);
  assert.match(await row.innerText(), /traded with itself/);
  await officer.screenshot({ path: join(SCREENSHOTS, "risk-alerts.png") });
  await officer.close();
  await trader.close();
});

test("the dashboards chart the gateway's order-entry throughput and latency after trading", async () => {
  const page = await signIn(process.env.OTHER_USER, process.env.OTHER_PASSWORD);
  await page.getByRole("tab", { name: "Dashboards" }).click();
  // The gateway closes an interval every 5 s; the simulator and the orders
  // above have been trading through it since it started.
  await page.locator('[data-testid="order-entry-chart"]:not([data-peak="0"])').waitFor({ timeout: LONG });
  await page.locator('[data-testid="order-entry-latency-chart"]:not([data-peak="0"])').waitFor({ timeout: LONG });
  assert.match(await page.getByRole("region", { name: "order-entry", exact: true }).innerText(), /acknowledgements per 5 s/i);
  await page.screenshot({ path: join(SCREENSHOTS, "order-entry.png"), fullPage: true });
  await page.close();
});

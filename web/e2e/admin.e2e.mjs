// The administrator's page end to end, in a real browser against the same
// `stx serve --simulate` and web front as trading.e2e.mjs (tests/e2e/test_web.py
// runs every e2e/*.e2e.mjs with the same environment; OTHER_USER is an
// administrator): a trader is created and listed, disabled, and refused at
// sign-in with the reason; both audit logs verify.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { LONG, SCREENSHOTS, launch, submitSignIn } from "./browser.mjs";

mkdirSync(SCREENSHOTS, { recursive: true });
const viewport = { width: 1600, height: 1000 };
let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

test("the administrator creates a trader, disables them (who is then refused at sign-in), and verifies the audit logs", async () => {
  const admin = await submitSignIn(await browser.newContext({ viewport }), process.env.OTHER_USER, process.env.OTHER_PASSWORD);
  await admin.getByTestId("signed-in-user").waitFor({ timeout: LONG });
  await admin.getByRole("tab", { name: "Admin" }).click();

  // A new trader, created and listed.
  const username = `e2e.trader${Date.now() % 100_000}`;
  const password = "e2e trader password 1";
  const users = admin.getByRole("region", { name: "users" });
  const form = users.getByRole("form", { name: "new user" });
  await form.getByLabel("Username").fill(username);
  await form.getByLabel("E-mail").fill(`${username}@example.com`);
  await form.getByLabel("Password").fill(password);
  assert.ok(await form.getByLabel("new user trader").isChecked());
  await form.getByRole("button", { name: "Create user" }).click();
  await users.getByTestId("users-done").filter({ hasText: `Created ${username} (${username.toUpperCase()})` }).waitFor({ timeout: LONG });
  const row = users.locator(`tr[data-user="${username}"]`);
  await row.waitFor({ timeout: LONG });
  assert.match(await row.innerText(), /trader/);

  // Disabled, with a reason.
  await users.getByLabel("Reason (disable, enable)").fill("e2e: leaves the desk");
  await row.getByRole("button", { name: "Disable" }).click();
  await row.getByTestId("user-state").filter({ hasText: "disabled" }).waitFor({ timeout: LONG });
  await admin.screenshot({ path: join(SCREENSHOTS, "admin-users.png") });

  // That user's sign-in is refused, with the reason.
  const refused = await submitSignIn(await browser.newContext({ viewport }), username, password);
  const alert = refused.getByRole("alert");
  await alert.waitFor({ timeout: LONG });
  assert.match(await alert.innerText(), /USER_DISABLED: this user is disabled by an administrator/);
  assert.equal(await refused.getByTestId("signed-in-user").count(), 0);
  await refused.close();

  // The audit log: the disable is in the sign-in log; both chains hold.
  const audit = admin.getByRole("region", { name: "audit log" });
  await audit.getByRole("button", { name: "Sign-ins and administration" }).click();
  await audit.getByRole("table", { name: "audit entries" }).getByText("user_disabled").first().waitFor({ timeout: LONG });
  await audit.getByRole("button", { name: "Verify both logs" }).click();
  const verification = audit.getByTestId("audit-verification");
  await verification.waitFor({ timeout: LONG });
  const verdicts = await verification.innerText();
  assert.match(verdicts, /commands \(audit_log\): verified, \d+ entries/);
  assert.match(verdicts, /sign-ins and administration \(auth_log\): verified, \d+ entries/);
  await audit.scrollIntoViewIfNeeded();
  await admin.screenshot({ path: join(SCREENSHOTS, "admin-audit.png") });
  await admin.close();
});

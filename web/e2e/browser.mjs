// What the browser tests share: Debian's chromium launched headless as the
// issue says, and a sign-in through the page's own form.
import { chromium } from "playwright-core";

export const WEB_URL = process.env.WEB_URL ?? "http://127.0.0.1:3000";
export const SCREENSHOTS = process.env.SCREENSHOTS ?? "test-results";
export const LONG = 20_000;

export function launch() {
  // playwright-core gives each launch a fresh, temporary user-data-dir of its own.
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** A page of `context` on the sign-in form, the credentials filled in and sent. */
export async function submitSignIn(context, username, password) {
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`page error (${username}):`, error.message));
  await page.goto(WEB_URL);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  return page;
}

// The page an emailed invitation link opens in development (app/account_pages.py and
// app/account_page.js), as the invited person meets it: headless Chromium opens LINK,
// types PASSWORD into the one field and presses the button, then reads the <output>.
// It does so twice on fresh loads of the same link: the second submit must be refused,
// since a link's token works once. Run by test_account_page.py, which starts the server;
// by hand:
//   LINK='http://127.0.0.1:8000/accept-invitation?token=...' PASSWORD='...' \
//     node tests/browser/account_page.mjs
//
// Prints one JSON object: what each attempt showed, the page's answer headers, and every
// problem seen (console errors, page errors, Content-Security-Policy refusals, requests
// that leave 127.0.0.1). The Python test asserts on it; this script exits non-zero only
// when it could not run at all.
import { chromium } from "playwright-core";

const link = process.env.LINK;
const password = process.env.PASSWORD;
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
if (!link || !password) {
  console.error("LINK and PASSWORD must be set");
  process.exit(2);
}

const problems = [];
const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});

async function submitOnce(context, attempt) {
  const page = await context.newPage();
  page.on("pageerror", (error) => problems.push(`${attempt}: page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`${attempt}: console error: ${message.text()}`);
  });
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (event) =>
      window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`));
  });
  const response = await page.goto(link, { waitUntil: "load" });
  const headers = response ? await response.allHeaders() : {};
  const outcome = {
    httpStatus: response?.status() ?? null,
    contentSecurityPolicy: headers["content-security-policy"] ?? null,
    referrerPolicy: headers["referrer-policy"] ?? null,
    title: await page.title(),
  };
  try {
    await page.locator('input[name="password"]').fill(password, { timeout: 5000 });
    // Without its script the form would submit natively (and CSP's form-action refuses
    // that): the click then waits for a navigation that never comes.
    await page.locator("form button").click({ timeout: 10000 });
    // Empty before the submit, "…" while the request is under way.
    await page.waitForFunction(() => {
      const text = document.querySelector("output")?.textContent ?? "";
      return text !== "" && text !== "…";
    }, null, { timeout: 15000 });
  } catch (error) {
    problems.push(`${attempt}: no answer in the <output>: ${error.message.split("\n")[0]}`);
  }
  try {
    // One evaluate, not locators: these would wait on a refused native submit's navigation.
    const seen = await page.evaluate(() => ({
      output: document.querySelector("output")?.textContent ?? null,
      formHidden: document.querySelector("form")?.hidden ?? null,
      violations: window.__cspViolations,
    }));
    outcome.output = seen.output;
    outcome.formHidden = seen.formHidden;
    problems.push(...seen.violations.map((violation) =>
      `${attempt}: Content-Security-Policy refused ${violation}`));
  } catch (error) {
    problems.push(`${attempt}: could not read the page: ${error.message.split("\n")[0]}`);
  }
  await page.close();
  return outcome;
}

const outcomes = {};
try {
  const context = await browser.newContext();
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === "data:" || url.hostname === "127.0.0.1") return route.continue();
    problems.push(`blocked a request that leaves 127.0.0.1: ${url.href}`);
    return route.abort("blockedbyclient");
  });
  outcomes.first = await submitOnce(context, "first");
  outcomes.second = await submitOnce(context, "second");
} finally {
  await browser.close();
}
console.log(JSON.stringify({ ...outcomes, problems }));

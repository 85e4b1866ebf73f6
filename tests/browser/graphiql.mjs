// GraphiQL as a person meets it: Debian's headless Chromium opens /graphql of a
// `bookings serve --demo`, presses Run, and sees data. Run by test_graphiql.py,
// which starts the server; by hand:
//   GRAPHIQL_URL=http://127.0.0.1:8000/graphql node tests/browser/graphiql.mjs
//
// No internet is needed, and none is used: the server serves GraphiQL's files itself,
// and every request that leaves 127.0.0.1 is blocked and fails the run. So this also
// proves the page works on a machine with no network at all.
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const pageURL = process.env.GRAPHIQL_URL ?? "http://127.0.0.1:8000/graphql";
const screenshot = process.env.SCREENSHOT ?? join(here, "..", "..", "artifacts", "graphiql.png");
const docsScreenshot = screenshot.replace(/\.png$/, "-docs.png");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";

const problems = [];
const served = [];

const browser = await chromium.launch({
  executablePath: chromiumPath,
  // Playwright adds --headless, --no-sandbox (as root) and a fresh profile directory.
  args: [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === "data:" || url.hostname === "127.0.0.1") {
      served.push(url.pathname);
      return route.continue();
    }
    problems.push(`blocked a request that leaves 127.0.0.1: ${url.href}`);
    return route.abort("blockedbyclient");
  });
  const page = await context.newPage();
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (event) =>
      window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`),
    );
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });

  await page.goto(pageURL, { waitUntil: "load" });
  const queryEditor = page.locator(".graphiql-query-editor .CodeMirror");
  await queryEditor.waitFor({ state: "visible", timeout: 15000 });

  const editorValue = (selector) =>
    page.evaluate((css) => document.querySelector(css)?.CodeMirror?.getValue() ?? null, selector);
  const demoDocument = await editorValue(".graphiql-query-editor .CodeMirror");
  const headers = await editorValue(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror");
  if (!demoDocument?.includes("query DemoNextWeek")) {
    throw new Error(`the editor does not hold the demo document:\n${demoDocument}`);
  }
  if (!/"Authorization": "Bearer [\w-]+\.[\w-]+\.[\w-]+"/.test(headers ?? "")) {
    throw new Error(`the Headers tab does not hold the demo user's header:\n${headers}`);
  }

  await page.locator("button.graphiql-execute-button").click();
  const response = page.locator(".graphiql-response .CodeMirror");
  await page.waitForFunction(
    () => (document.querySelector(".graphiql-response .CodeMirror")?.CodeMirror?.getValue() ?? "")
      .includes('"data"'),
    null,
    { timeout: 15000 },
  );
  const result = JSON.parse(await editorValue(".graphiql-response .CodeMirror"));
  if (result.errors) throw new Error(`the demo query failed: ${JSON.stringify(result.errors)}`);
  const { me, availability } = result.data;
  const slots = availability.flatMap((entry) => entry.days.flatMap((day) => day.slots));
  if (me.role !== "CLIENT" || availability.length === 0 || slots.length === 0) {
    throw new Error(`the demo query returned no useful data: ${JSON.stringify(result.data)}`);
  }
  await response.scrollIntoViewIfNeeded();
  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot });

  // The docs explorer shows our descriptions.
  await page.locator('button[aria-label="Show Documentation Explorer"]').click();
  await page.locator(".graphiql-doc-explorer a.graphiql-doc-explorer-type-name", { hasText: "Query" })
    .first().click();
  await page.getByText("Bookable slots, grouped by local date.").first()
    .waitFor({ state: "visible", timeout: 5000 });
  await page.screenshot({ path: docsScreenshot });

  if (!served.some((path) => path.startsWith("/graphiql/assets/graphiql@"))) {
    problems.push(`GraphiQL's files did not come from the server: ${served.join(", ")}`);
  }
  const violations = await page.evaluate(() => window.__cspViolations);
  problems.push(...violations.map((violation) => `Content-Security-Policy refused ${violation}`));
  console.log(
    `GraphiQL ran DemoNextWeek as ${me.firstName} ${me.lastName}: ` +
      `${availability.length} professionals, ${slots.length} free slots next week. ` +
      `Screenshots: ${screenshot}, ${docsScreenshot}`,
  );
} finally {
  await browser.close();
}
if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}

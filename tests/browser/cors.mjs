// CORS as a browser enforces it: headless Chromium opens a page on ALLOWED_PAGE and one on
// UNLISTED_PAGE (two other ports of 127.0.0.1), and each page's script POSTs a query to
// GRAPHQL_URL with a JSON body (so the browser sends a preflight first). The allowed page
// must get the data; the browser must block the unlisted one. Prints one line per page.
import { chromium } from "playwright-core";

const graphqlURL = process.env.GRAPHQL_URL;
const pages = { allowed: process.env.ALLOWED_PAGE, unlisted: process.env.UNLISTED_PAGE };
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";

const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const outcomes = {};
try {
  for (const [name, pageURL] of Object.entries(pages)) {
    const page = await browser.newPage();
    await page.goto(pageURL);
    outcomes[name] = await page.evaluate(async (url) => {
      try {
        const response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", "x-request-id": "cors-check" },
          body: JSON.stringify({ query: "{ __typename }" }),
        });
        return { body: await response.json(), requestId: response.headers.get("x-request-id") };
      } catch (error) {
        return { blocked: String(error) };
      }
    }, graphqlURL);
    await page.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(outcomes));
const allowed = outcomes.allowed;
const ok = allowed.body?.data?.__typename === "Query" && allowed.requestId === "cors-check"
  && outcomes.unlisted.blocked?.includes("Failed to fetch");
process.exit(ok ? 0 : 1);

// graphql-http's audit of a GraphQL-over-HTTP server (the spec's MUST, SHOULD and MAY
// rules), run against GRAPHQL_URL. Prints one line per audit that did not pass and a
// summary line; exits 1 if any did not pass.
//   GRAPHQL_URL=http://127.0.0.1:8000/graphql node tests/clients/audit.mjs
import { auditServer } from "graphql-http";

const url = process.env.GRAPHQL_URL ?? "http://127.0.0.1:8000/graphql";
const results = await auditServer({ url });
const passed = results.filter((result) => result.status === "ok");
for (const result of results) {
  if (result.status !== "ok") {
    const detail = result.reason ?? "";
    console.log(`${result.status.toUpperCase()} ${result.id} ${result.name}: ${detail}`);
  }
}
const byLevel = (level) => {
  const all = results.filter((result) => result.name.startsWith(level));
  return `${level} ${all.filter((result) => result.status === "ok").length}/${all.length}`;
};
console.log(
  `graphql-http audit: ${passed.length} of ${results.length} passed ` +
    `(${byLevel("MUST")}, ${byLevel("SHOULD")}, ${byLevel("MAY")})`,
);
process.exit(passed.length === results.length ? 0 : 1);

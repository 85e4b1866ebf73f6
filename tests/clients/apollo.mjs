// Apollo Client with its normalized InMemoryCache, against `bookings serve --demo` at
// GRAPHQL_URL, as a booking frontend uses it:
// - book: the cached `creditBalance` query shows the new balance with no refetch, because
//   the payload's balance has the same `id`;
// - cancel: the cache shows the refund, again with no refetch;
// - automatic persisted queries (PersistedQueryLink, hashed queries over GET): the first
//   client registers the document, a second one runs it by its hash alone.
// Prints one line of results; exits 1 on the first thing that is not as it should be.
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { createHash } from "node:crypto";

const url = process.env.GRAPHQL_URL ?? "http://127.0.0.1:8000/graphql";
const requests = [];

function expect(condition, message) {
  if (!condition) {
    console.error(`FAILED: ${message}`);
    process.exit(1);
  }
}

async function countingFetch(input, init = {}) {
  requests.push({ method: init.method ?? "GET" });
  return fetch(input, init);
}

const login = await fetch(url, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({
    query: `mutation { login(input: {organization: "demo", email: "david@demo.example",
      password: "demo-password"}) { token } }`,
  }),
}).then((response) => response.json());
const token = login.data.login.token;

function client(link) {
  return new ApolloClient({ cache: new InMemoryCache(), link });
}
const http = () => new HttpLink({ uri: url, headers: { authorization: `Bearer ${token}` },
  fetch: countingFetch });
const apollo = client(http());

const BALANCE = gql`query Balance { creditBalance { id balance } }`;
const CALENDAR = gql`
  query Calendar($ids: [ID!]!, $from: Date!, $to: Date!) {
    availability(professionalIds: $ids, from: $from, to: $to) {
      professional { id creditCost }
      days { slots { id } }
    }
  }`;
const PROFESSIONALS = gql`query Professionals { professionals(first: 10) { edges { node { id } } } }`;
const BOOK = gql`
  mutation Book($slot: ID!, $key: String!) {
    bookTimeSlot(input: {timeSlotId: $slot, idempotencyKey: $key}) {
      appointment { id state }
      creditBalance { id balance }
      userErrors { code message }
    }
  }`;
const CANCEL = gql`
  mutation Cancel($id: ID!) {
    cancelAppointment(input: {appointmentId: $id, reason: "Apollo test"}) {
      appointment { id state }
      creditBalance { id balance }
      userErrors { code message }
    }
  }`;

const before = (await apollo.query({ query: BALANCE })).data.creditBalance;
const professionals = (await apollo.query({ query: PROFESSIONALS })).data.professionals.edges
  .map((edge) => edge.node.id);
const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
const calendar = (await apollo.query({
  query: CALENDAR, variables: { ids: professionals, from: day(8), to: day(14) },
})).data.availability;
const entry = calendar.find((item) => item.days.some((found) => found.slots.length));
expect(entry, "no free slot next week in the demo data");
const slot = entry.days.find((found) => found.slots.length).slots.at(-1).id;

const booked = (await apollo.mutate({
  mutation: BOOK, variables: { slot, key: `apollo-${Date.now()}` },
})).data.bookTimeSlot;
expect(booked.userErrors.length === 0, `booking refused: ${JSON.stringify(booked.userErrors)}`);
expect(booked.creditBalance.id === before.id, "the payload's balance has another id");
const sent = requests.length;
const afterBooking = apollo.readQuery({ query: BALANCE }).creditBalance.balance;
const viaQuery = (await apollo.query({ query: BALANCE })).data.creditBalance.balance;
expect(afterBooking === before.balance - entry.professional.creditCost,
  `cached balance after booking is ${afterBooking}, expected ${before.balance} - ${entry.professional.creditCost}`);
expect(viaQuery === afterBooking && requests.length === sent,
  "the Balance query went to the server instead of the cache");

const cancelled = (await apollo.mutate({
  mutation: CANCEL, variables: { id: booked.appointment.id },
})).data.cancelAppointment;
expect(cancelled.userErrors.length === 0, `cancel refused: ${JSON.stringify(cancelled.userErrors)}`);
const afterCancel = apollo.readQuery({ query: BALANCE }).creditBalance.balance;
expect(afterCancel === before.balance, `cached balance after the refund is ${afterCancel}`);

// Automatic persisted queries: hashes over GET, the document only when the server asks.
const sha256 = (text) => createHash("sha256").update(text).digest("hex");
const persisted = () => new PersistedQueryLink({ sha256, useGETForHashedQueries: true })
  .concat(http());
const PERSISTED = gql`query PersistedBalance { creditBalance { id balance lifetimeUsed } }`;
requests.length = 0;
const first = (await client(persisted()).query({ query: PERSISTED })).data.creditBalance;
const registering = requests.map((request) => request.method).join(" ");
requests.length = 0;
const second = (await client(persisted()).query({ query: PERSISTED })).data.creditBalance;
expect(first.balance === afterCancel && second.balance === afterCancel,
  "persisted query answered another balance");
expect(registering === "GET POST", `the first persisted query went ${registering}`);
expect(requests.length === 1 && requests[0].method === "GET",
  `the second persisted query went ${requests.map((request) => request.method).join(" ")}`);

console.log(
  `Apollo Client: booked (balance ${before.balance} -> ${afterBooking} from the cache), ` +
    `cancelled (-> ${afterCancel} from the cache), persisted query by hash over GET`,
);

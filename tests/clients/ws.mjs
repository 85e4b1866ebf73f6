// The graphql-ws client (graphql-transport-ws) against `bookings serve --demo` at
// GRAPHQL_URL: subscribe to a professional's slots, book one over HTTP, receive the change.
// Then a bad token: the server closes with 4403, and a client configured as the README says
// does not reconnect in a loop.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const url = process.env.GRAPHQL_URL ?? "http://127.0.0.1:8000/graphql";
const wsUrl = url.replace(/^http/, "ws");

function expect(condition, message) {
  if (!condition) {
    console.error(`FAILED: ${message}`);
    process.exit(1);
  }
}

async function graphql(query, variables, token) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return response.json();
}

const token = (await graphql(`mutation { login(input: {organization: "demo",
  email: "david@demo.example", password: "demo-password"}) { token } }`)).data.login.token;
const professionals = (await graphql("{ professionals(first: 10) { edges { node { id } } } }",
  {}, token)).data.professionals.edges.map((edge) => edge.node.id);
const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
const calendar = (await graphql(`query($ids: [ID!]!, $from: Date!, $to: Date!) {
  availability(professionalIds: $ids, from: $from, to: $to) {
    professional { id } days { slots { id } } } }`,
  { ids: professionals, from: day(8), to: day(14) }, token)).data.availability;
const entry = calendar.find((item) => item.days.some((found) => found.slots.length));
expect(entry, "no free slot next week in the demo data");
const slot = entry.days.find((found) => found.slots.length).slots[0].id;

// Don't retry a refused token (4403): graphql-ws would otherwise reconnect, again and again.
const shouldRetry = (event) => !(event && typeof event === "object" && event.code === 4403);

const client = createClient({
  url: wsUrl, webSocketImpl: WebSocket, shouldRetry,
  connectionParams: { Authorization: `Bearer ${token}` },
});
const received = new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error("no slot change within 10 s")), 10000);
  client.subscribe({
    query: `subscription($ids: [ID!]!) { timeSlotChanged(professionalIds: $ids) { id status } }`,
    variables: { ids: [entry.professional.id] },
  }, {
    next: (message) => {
      if (message.data?.timeSlotChanged?.id === slot) {
        clearTimeout(timer);
        resolve(message.data.timeSlotChanged);
      }
    },
    error: reject,
    complete: () => {},
  });
});
await new Promise((resolve) => client.on("connected", resolve));
await new Promise((resolve) => setTimeout(resolve, 300)); // the server is listening now
const booked = await graphql(`mutation($slot: ID!) { bookTimeSlot(input: {timeSlotId: $slot,
  idempotencyKey: "ws-${Date.now()}"}) { appointment { id } userErrors { code } } }`,
  { slot }, token);
expect(booked.data.bookTimeSlot.userErrors.length === 0, JSON.stringify(booked));
const change = await received;
expect(change.status === "BOOKED", `received ${JSON.stringify(change)}`);
await graphql(`mutation($id: ID!) { cancelAppointment(input: {appointmentId: $id}) {
  userErrors { code } } }`, { id: booked.data.bookTimeSlot.appointment.id }, token);
await client.dispose();

// A bad token: closed with 4403, once, and no reconnection.
let connections = 0;
const closes = [];
const refused = createClient({
  url: wsUrl, webSocketImpl: WebSocket, shouldRetry, retryAttempts: 5,
  retryWait: () => new Promise((resolve) => setTimeout(resolve, 50)),
  connectionParams: { Authorization: "Bearer not-a-token" },
  on: { opened: () => { connections += 1; }, closed: (event) => closes.push(event.code) },
});
const failure = await new Promise((resolve) => {
  refused.subscribe({ query: "subscription { timeSlotChanged(professionalIds: []) { id } }" },
    { next: () => {}, error: resolve, complete: () => resolve(null) });
});
await new Promise((resolve) => setTimeout(resolve, 500)); // time for a reconnection, if any
expect(failure?.code === 4403, `a bad token ended with ${failure?.code ?? failure}`);
expect(connections === 1 && closes.join() === "4403",
  `a bad token led to ${connections} connections, closes ${closes.join()}`);
await refused.dispose();
console.log(`graphql-ws: subscribed, booked, received ${change.status}; a bad token closed ` +
  "with 4403 and did not reconnect");

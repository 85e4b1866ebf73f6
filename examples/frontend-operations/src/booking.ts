// A booking flow written against the generated types: a field renamed or removed
// in schema.graphql breaks codegen or this file's type check, not a user's screen.
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";

import {
  AvailabilityCalendarDocument,
  BookTimeSlotDocument,
  CancelAppointmentDocument,
  CancellationPreviewDocument,
  CreditHistoryDocument,
  StaffDayDocument,
  type AppointmentSummaryFragment,
  type UserErrorCode,
} from "./generated/graphql";

export class BookingsClient {
  constructor(
    private readonly endpoint: string,
    private readonly token: string,
  ) {}

  /** One operation over HTTP; the document's own types check variables and result. */
  async execute<Result, Variables>(
    document: TypedDocumentNode<Result, Variables>,
    variables: Variables,
  ): Promise<Result> {
    const response = await fetch(this.endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ query: print(document), variables }),
    });
    const body = (await response.json()) as { data?: Result; errors?: { message: string }[] };
    if (body.errors?.length || !body.data) {
      throw new Error(body.errors?.map((error) => error.message).join("; ") ?? "no data");
    }
    return body.data;
  }
}

/** The first free slot of a professional between two local dates, if any. */
export async function firstFreeSlot(
  client: BookingsClient,
  professionalId: string,
  from: string,
  to: string,
): Promise<{ id: string; startsAt: string } | null> {
  const { availability } = await client.execute(AvailabilityCalendarDocument, {
    professionalIds: [professionalId],
    from,
    to,
  });
  for (const day of availability[0]?.days ?? []) {
    const slot = day.slots[0];
    if (slot) return { id: slot.id, startsAt: slot.startsAt };
  }
  return null;
}

export type BookingOutcome =
  | { booked: AppointmentSummaryFragment; balance: number | null }
  | { refused: UserErrorCode; message: string };

export async function book(
  client: BookingsClient,
  timeSlotId: string,
  idempotencyKey: string,
): Promise<BookingOutcome> {
  const { bookTimeSlot } = await client.execute(BookTimeSlotDocument, {
    input: { timeSlotId, idempotencyKey },
  });
  const [refusal] = bookTimeSlot.userErrors;
  if (refusal) return { refused: refusal.code, message: refusal.message };
  if (!bookTimeSlot.appointment) throw new Error("booked without an appointment");
  return { booked: bookTimeSlot.appointment, balance: bookTimeSlot.creditBalance?.balance ?? null };
}

/** "Cancel and get 2 credits back?": the question to ask before cancelling. */
export async function cancellationQuestion(
  client: BookingsClient,
  appointmentId: string,
): Promise<string> {
  const { node } = await client.execute(CancellationPreviewDocument, { appointmentId });
  if (node?.__typename !== "Appointment") return "This appointment no longer exists.";
  const { allowed, refundCredits, reason } = node.cancellationPreview;
  if (!allowed) return `It cannot be cancelled: ${reason ?? "not allowed"}.`;
  return refundCredits > 0
    ? `Cancel and get ${refundCredits} credit(s) back?`
    : `Cancel? No credits come back${reason ? ` (${reason})` : ""}.`;
}

export async function cancel(
  client: BookingsClient,
  appointmentId: string,
  reason: string,
): Promise<number | null> {
  const { cancelAppointment } = await client.execute(CancelAppointmentDocument, {
    input: { appointmentId, reason },
  });
  const [refusal] = cancelAppointment.userErrors;
  if (refusal) throw new Error(`${refusal.code}: ${refusal.message}`);
  return cancelAppointment.creditTransaction?.amount ?? 0;
}

/** Ledger lines for a wallet screen, newest first. */
export async function creditHistoryLines(client: BookingsClient): Promise<string[]> {
  const { creditTransactions } = await client.execute(CreditHistoryDocument, { first: 20 });
  return creditTransactions.edges.map(({ node }) => {
    const sign = node.amount > 0 ? "+" : "";
    return `${node.createdAt.slice(0, 10)}  ${node.type}  ${sign}${node.amount}  = ${node.balanceAfter ?? "pending"}`;
  });
}

/** The staff day view: one line per appointment, in start order. */
export async function staffDay(client: BookingsClient, from: string, to: string): Promise<string[]> {
  const { appointments } = await client.execute(StaffDayDocument, { from, to });
  return appointments.edges.map(({ node }) => {
    const who = `${node.client.firstName} ${node.client.lastName}`;
    const withWhom = `${node.professional.user.firstName} ${node.professional.user.lastName}`;
    return `${node.startsAt}  ${node.state.padEnd(13)} ${who} with ${withWhom}`;
  });
}

"""The appointments of a period as CSV rows, for spreadsheets (docs/rules.md: reports).

The same scope as the report (who sees which professionals, whole days in the
organization's zone). Rows come from a server-side cursor, a few hundred at a time, so a
year of a big centre never sits in memory. Times are the organization's local times.

A cell that a spreadsheet would read as a formula (starting with =, +, -, @, or a tab or
carriage return) is prefixed with a quote: a client named "=HYPERLINK(...)" stays text.
"""

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import BigInteger

from app.global_ids import encode
from app.reports.organization import Scope

HEADER = ("appointment_id", "starts_at", "ends_at", "professional", "client", "student",
          "state", "credits", "cancelled_by", "cancelled_at")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_FETCH = 500

_ROWS = text(
    """
    SELECT appointment.id, appointment.starts_at, appointment.ends_at, appointment.state,
           appointment.credit_cost, appointment.cancelled_at,
           concat_ws(' ', provider.first_name, provider.last_name) AS professional,
           concat_ws(' ', client.first_name, client.last_name) AS client,
           concat_ws(' ', student.first_name, student.last_name) AS student,
           concat_ws(' ', canceller.first_name, canceller.last_name) AS cancelled_by
    FROM appointments AS appointment
    JOIN professionals AS professional
      ON professional.organization_id = appointment.organization_id
     AND professional.id = appointment.professional_id
    JOIN users AS provider
      ON provider.organization_id = appointment.organization_id
     AND provider.id = professional.user_id
    JOIN users AS client
      ON client.organization_id = appointment.organization_id
     AND client.id = appointment.client_id
    LEFT JOIN students AS student
      ON student.organization_id = appointment.organization_id
     AND student.id = appointment.student_id
    LEFT JOIN users AS canceller
      ON canceller.organization_id = appointment.organization_id
     AND canceller.id = appointment.cancelled_by_id
    WHERE appointment.organization_id = :organization
      AND appointment.starts_at >= :start AND appointment.starts_at < :end
      AND appointment.professional_id = ANY(:professionals)
    ORDER BY appointment.starts_at, appointment.id
    """
).bindparams(bindparam("professionals", type_=ARRAY(BigInteger)))


def safe(cell: object) -> str:
    """The cell as text a spreadsheet shows as text."""
    value = "" if cell is None else str(cell)
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


async def appointment_lines(session: AsyncSession, covered: Scope) -> AsyncIterator[str]:
    """The CSV text, the header first, one line per appointment."""
    zone = ZoneInfo(covered.organization.time_zone)
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([safe(cell) for cell in cells])
        return buffer.getvalue()

    def local(instant: datetime | None) -> str | None:
        return None if instant is None else instant.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    yield line(HEADER)
    rows = await session.stream(
        _ROWS.execution_options(yield_per=ROWS_PER_FETCH),
        {**covered.parameters, "professionals": covered.professional_ids})
    async for row in rows:
        yield line((encode("Appointment", row.id), local(row.starts_at), local(row.ends_at), row.professional,
                    row.client, row.student or None, row.state, row.credit_cost,
                    row.cancelled_by or None, local(row.cancelled_at)))

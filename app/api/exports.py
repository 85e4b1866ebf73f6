"""`GET /exports/appointments.csv?from=YYYY-MM-DD&to=YYYY-MM-DD`: the appointments of a period
as CSV (app/reports/export.py), streamed.

It takes the same bearer token as the API and shows what `organizationReport` would: 401
without a valid token, 403 for a CLIENT, 400 for a bad period (the message says why). The
checks run before the first byte is sent; the rows are read in a read-only transaction that
lasts as long as the download.
"""

from datetime import date

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from app.auth import read_token
from app.config import Settings
from app.db import Database
from app.errors import AccessError, NotFound, Unauthenticated, ValidationFailed
from app.people.authentication import resolve_principal
from app.reports import export
from app.reports.organization import scope

EXPORT_PATH = "/exports/appointments.csv"
CSV = "text/csv; charset=utf-8"


def appointments_export(db: Database, settings: Settings):
    async def endpoint(request: Request) -> Response:
        try:
            claims = _claims(request, settings)
            first_day, last_day = _day(request, "from"), _day(request, "to")
            async with db.transaction(claims.organization_id, read_only=True,
                                      actor_id=claims.user_id) as session:
                principal = await resolve_principal(session, claims, organization_header=None)
                covered = await scope(session, principal, first_day=first_day,
                                      last_day=last_day)
        except Unauthenticated as error:
            return PlainTextResponse(str(error), status_code=401,
                                     headers={"WWW-Authenticate": "Bearer"})
        except AccessError as error:
            return PlainTextResponse(str(error), status_code=403)
        except (ValidationFailed, NotFound) as error:
            return PlainTextResponse(str(error), status_code=400)

        async def lines():
            async with db.transaction(principal.organization_id, read_only=True) as session:
                async for line in export.appointment_lines(session, covered):
                    yield line

        name = f"appointments-{first_day}-to-{last_day}.csv"
        return StreamingResponse(lines(), media_type=CSV, headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store"})

    return endpoint


def _claims(request: Request, settings: Settings):
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send the API's token: `Authorization: Bearer <token>`.")
    return read_token(token.strip(), secret=settings.signing_key())


def _day(request: Request, name: str) -> date:
    value = request.query_params.get(name)
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        raise ValidationFailed(f"`{name}` must be a date, YYYY-MM-DD.", field=name) from None

"""`GET /calendar/{token}.ics`: a user's calendar feed as iCalendar (RFC 5545), built with
the `icalendar` library (the feeds themselves: app/calendar/feeds.py).

An unknown token and a rotated one get the same 404. The answer carries an ETag of its
bytes; a calendar app that sends it back (If-None-Match) gets 304 when nothing changed.

UIDs are the appointment's global ID at the server's host, so they stay the same for as
long as the appointment exists; SEQUENCE is the appointment's own (the database moves it
on with each change); a cancelled appointment stays in the feed as STATUS:CANCELLED, so
calendar apps remove it; every time is in UTC. The texts are in the owner's language.
"""

import hashlib
from datetime import UTC

from icalendar import Calendar, Event
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from app import global_ids as ids
from app.appointments.models import AppointmentState
from app.calendar import feeds
from app.calendar.feeds import Feed, FeedEntry
from app.clock import utc_now
from app.db import Database
from app.i18n.languages import Language

ICALENDAR = "text/calendar; charset=utf-8"

_STATUS = {
    AppointmentState.PRE_CONFIRMED: "TENTATIVE",
    AppointmentState.CONFIRMED: "CONFIRMED",
    AppointmentState.EXECUTED: "CONFIRMED",
    AppointmentState.NO_SHOW: "CONFIRMED",
    AppointmentState.CANCELLED: "CANCELLED",
}


def render(feed: Feed, *, host: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Bookings//Calendar feed//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{feed.organization_name}: {feed.owner_name}")
    for entry in feed.entries:
        calendar.add_component(_event(entry, host=host, as_professional=feed.as_professional,
                                      language=feed.language))
    return calendar.to_ical()


def _event(entry: FeedEntry, *, host: str, as_professional: bool, language: Language) -> Event:
    _ = language.gettext
    event = Event()
    event.add("uid", f"{ids.encode('Appointment', entry.appointment_id)}@{host}")
    event.add("dtstamp", entry.updated_at.astimezone(UTC))
    event.add("last-modified", entry.updated_at.astimezone(UTC))
    event.add("dtstart", entry.starts_at.astimezone(UTC))
    event.add("dtend", entry.ends_at.astimezone(UTC))
    event.add("sequence", entry.sequence)
    event.add("status", _STATUS[entry.state])
    # RFC 5545's LANGUAGE parameter: which language the text is in.
    in_language = {"LANGUAGE": language.tag}
    event.add("summary", _summary(entry, as_professional=as_professional, language=language),
              parameters=in_language)
    details = [_("State: {state}").format(state=_state_name(entry.state, language))]
    if entry.notes:
        details.append(_("Notes: {notes}").format(notes=entry.notes))
    event.add("description", "\n".join(details), parameters=in_language)
    return event


def _summary(entry: FeedEntry, *, as_professional: bool, language: Language) -> str:
    _ = language.gettext
    who = entry.client_name if as_professional else entry.professional_name
    if entry.student_name:
        return _("Session with {who} ({student})").format(who=who, student=entry.student_name)
    return _("Session with {who}").format(who=who)


def _state_name(state: AppointmentState, language: Language) -> str:
    _ = language.gettext
    return {
        AppointmentState.PRE_CONFIRMED: _("awaiting confirmation"),
        AppointmentState.CONFIRMED: _("confirmed"),
        AppointmentState.EXECUTED: _("held"),
        AppointmentState.NO_SHOW: _("missed"),
        AppointmentState.CANCELLED: _("cancelled"),
    }[state]


def calendar_feed(db: Database):
    async def serve(request: Request) -> Response:
        owner = await feeds.find_owner(db, request.path_params["token"])
        if owner is None:
            return PlainTextResponse("No such calendar feed.", status_code=404)
        organization_id, user_id = owner
        async with db.transaction(organization_id, read_only=True) as session:
            feed = await feeds.read_feed(session, user_id, now=utc_now())
        body = render(feed, host=request.url.hostname or "localhost")
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
        if etag in _etags(request.headers.get("if-none-match")):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=ICALENDAR, headers=headers)

    return serve


def _etags(header: str | None) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in (header or "").split(",") if tag.strip()}

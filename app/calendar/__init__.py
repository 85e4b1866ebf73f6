"""Calendar feeds: each user's secret iCalendar URL of their appointments
(docs/rules.md: calendar feeds). `feeds` makes, rotates and finds the feeds; `ics` renders
one with the `icalendar` library; `app.web` serves `GET /calendar/{token}.ics`."""

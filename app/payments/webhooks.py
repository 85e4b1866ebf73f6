"""`POST /webhooks/stripe`: the provider's signed events (docs/payments.md).

The answer tells the provider whether to send the event again:
- 200 for an event acted on, and for one that needs nothing (an event of another kind, a
  checkout that is not ours, a second delivery);
- 400 for a body that is too large, not JSON, unsigned, wrongly signed or too old: sending
  it again would not help, and nothing was changed;
- 503 while the database cannot be reached, or when the server has no webhook secret
  (it cannot tell a real event from a forged one yet), so that the provider tries again.
"""

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse

from app.db import Database, is_unavailable
from app.payments.provider import InvalidEvent, PaymentProvider
from app.payments.settlement import act_on_event

logger = logging.getLogger(__name__)

STRIPE_WEBHOOK_PATH = "/webhooks/stripe"
# Stripe's events are small; this leaves room for large metadata and nothing more. The
# server's own body limit (BOOKINGS_MAX_BODY_BYTES) does not apply here: this one does.
MAX_BODY_BYTES = 256 * 1024


def stripe_webhook(db: Database, provider: PaymentProvider | None, *,
                   webhook_secret: str | None):
    async def receive(request: Request) -> JSONResponse:
        if provider is None or not webhook_secret:
            return _answer(503, "Stripe webhooks are not set up on this server "
                                "(BOOKINGS_STRIPE_SECRET_KEY, BOOKINGS_STRIPE_WEBHOOK_SECRET).")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return _answer(400, f"The body is over {MAX_BODY_BYTES // 1024} kB.")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return _answer(400, f"The body is over {MAX_BODY_BYTES // 1024} kB.")
        try:
            event = provider.read_event(bytes(body), dict(request.headers))
        except InvalidEvent as error:
            logger.warning("refused a webhook: %s", error)
            return _answer(400, f"Not a valid signed event: {error}.")
        try:
            outcome = await act_on_event(db, provider.name, event)
        except Exception as error:
            if is_unavailable(error):
                logger.warning("webhook %s: the database is unavailable", event.event_id)
                return _answer(503, "The database is unavailable; send it again later.")
            raise
        logger.info("webhook %s (%s): %s", event.event_id, event.type, outcome.value)
        return JSONResponse({"received": True, "outcome": outcome.value})

    return receive


def _answer(status: int, message: str) -> JSONResponse:
    return JSONResponse({"received": False, "error": message}, status_code=status)

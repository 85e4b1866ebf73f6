"""The pages emailed links open when no frontend is configured (BOOKINGS_APP_URL unset, as
in development): `/accept-invitation` and `/reset-password`, each a one-field form that
calls the mutation with the link's token. A real frontend replaces them; with
BOOKINGS_APP_URL set they are not served at all.
"""

from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse
from starlette.routing import Route

from app.config import Settings

_SCRIPT = Path(__file__).with_name("account_page.js")
_POLICY = ("default-src 'none'; script-src 'self'; connect-src 'self'; "
           "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
           "frame-ancestors 'none'")
# Path -> (title, mutation, button)
_PAGES = {
    "/accept-invitation": ("Accept your invitation", "acceptInvitation", "Set my password"),
    "/reset-password": ("Choose a new password", "resetPassword", "Reset my password"),
}


def _page(title: str, mutation: str, button: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{escape(title)}</title>
<style>body {{ font: 16px system-ui, sans-serif; max-width: 28rem; margin: 4rem auto; }}
input, button {{ font: inherit; padding: .4rem; }} output {{ display: block; margin-top: 1rem; }}</style>
</head>
<body>
<h1>{escape(title)}</h1>
<form data-mutation="{escape(mutation)}">
<label>Password (at least 10 characters)<br>
<input name="password" type="password" autocomplete="new-password" minlength="10" required></label>
<button>{escape(button)}</button>
</form>
<output aria-live="polite"></output>
<script src="/account-page.js"></script>
</body>
</html>
"""


def account_page_routes(settings: Settings) -> list[Route]:
    if settings.app_url is not None:
        return []

    def serve(title: str, mutation: str, button: str):
        html = _page(title, mutation, button)

        async def endpoint(_: Request) -> HTMLResponse:
            # The token is in the URL: never send it on to anyone as a Referer.
            return HTMLResponse(html, headers={"Content-Security-Policy": _POLICY,
                                               "Referrer-Policy": "no-referrer",
                                               "Cache-Control": "no-store"})
        return endpoint

    async def script(_: Request) -> FileResponse:
        return FileResponse(_SCRIPT, media_type="text/javascript")

    return [Route(path, serve(*page)) for path, page in _PAGES.items()] + [
        Route("/account-page.js", script)]

"""The GraphiQL page: its assets served by the server itself, and a demo that runs on the first click.

Strawberry's own page always loads React and GraphiQL from the public CDN with an
inline script, so without internet, or under a strict Content-Security-Policy, it
stays at "Loading..." forever. This page loads the same files (same versions, same
integrity hashes) from a copy inside the package (`app/graphiql_assets`, filled by
`scripts/vendor-graphiql-assets`), from a folder of the operator's
(`BOOKINGS_GRAPHIQL_ASSETS_DIR`), or, when asked, from a CDN or mirror
(`BOOKINGS_GRAPHIQL_ASSETS_URL`). It starts GraphiQL from a script file of ours, so
its policy allows no inline script at all.
"""

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from html import escape
from pathlib import Path
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from app import global_ids as ids
from app.config import ConfigurationError, Settings

ROUTES_PREFIX = "/graphiql"
# Where the server serves the assets, laid out as on a CDN: <package>@<version>/<file>.
SELF_HOSTED_ASSETS = f"{ROUTES_PREFIX}/assets"
_STATIC = Path(__file__).parent
# The copy shipped inside the package (with each package's licence).
BUNDLED_ASSETS = _STATIC / "graphiql_assets"


@dataclass(frozen=True)
class Asset:
    """One file of an npm package, as the CDN serves it: `<base>/<package>@<version>/<file>`."""

    package: str
    version: str
    file: str
    integrity: str

    @property
    def path(self) -> str:
        """Where it lies under a base URL or an assets folder."""
        return f"{self.package}@{self.version}/{self.file}"

    def url(self, base: str) -> str:
        return f"{base.rstrip('/')}/{self.path}"

    def matches(self, content: bytes) -> bool:
        """Whether `content` is the file the integrity hash names (what a browser checks)."""
        algorithm, _, expected = self.integrity.partition("-")
        return base64.b64encode(hashlib.new(algorithm, content).digest()).decode() == expected

    @property
    def is_stylesheet(self) -> bool:
        return self.file.endswith(".css")


# The files and versions of Strawberry's bundled page (strawberry/static/graphiql.html),
# less js-cookie (it only reads Django's CSRF cookie). Browsers check the hashes, so a
# mirror must serve exactly these bytes: the npm registry's files are the same.
ASSETS = (
    Asset("react", "18.2.0", "umd/react.production.min.js",
          "sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8"),
    Asset("react-dom", "18.2.0", "umd/react-dom.production.min.js",
          "sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh"),
    Asset("graphiql", "3.8.3", "graphiql.min.css",
          "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM"),
    Asset("@graphiql/plugin-explorer", "1.0.2", "dist/style.css",
          "sha384-5DFJlDPW2tSATRbM8kzoP1j194jexLswuNmClWoRr2Q0x7R68JIQzPHZ02Faktwi"),
    Asset("graphiql", "3.8.3", "graphiql.min.js",
          "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie"),
    Asset("@graphiql/plugin-explorer", "1.0.2", "dist/index.umd.js",
          "sha384-2oonKe47vfHIZnmB6ZZ10vl7T0Y+qrHQF2cmNTaFDuPshpKqpUMGMc9jgj9MLDZ9"),
)

WELCOME_DOCUMENT = """\
# Bookings GraphQL API
#
# Every operation but `login` needs a token. Run this mutation with your
# organization and login, then put the token into the Headers tab below:
#   {"Authorization": "Bearer <token>"}
# and ask, for example, `{ me { email role } }`.
# `bookings token --org SLUG --email EMAIL` prints a token too.
#
# The Docs panel (the book icon, top left) describes every type and field.
# Run: Ctrl-Enter or the play button. Complete: Ctrl-Space.

mutation Login {
  login(input: {organization: "your-organization", email: "you@example.com", password: "..."}) {
    token
    userErrors { code message }
  }
}
"""


@dataclass(frozen=True)
class DemoSession:
    """Who GraphiQL acts as in demo mode, and whom they can book."""

    token: str
    user_name: str
    organization_slug: str
    # (global ID, name) of each professional.
    professionals: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, demo) -> "DemoSession":
        """From `app.demo.DemoOrganization`: its client's token and its professionals."""
        return cls(
            token=demo.client_token,
            user_name=demo.client_name or "a demo client",
            organization_slug=demo.slug,
            professionals=tuple(
                (ids.encode("Professional", professional.id), professional.name)
                for professional in demo.professionals
            ),
        )

    def headers(self) -> str:
        return json.dumps({"Authorization": f"Bearer {self.token}"}, indent=2)

    def document(self, today: date) -> str:
        """Next week's free slots of every demo professional, and the caller's own balance."""
        monday = today + timedelta(days=7 - today.weekday())
        ids_lines = "\n".join(f"      {json.dumps(global_id)}  # {name}"
                              for global_id, name in self.professionals)
        return f"""\
# Demo: you are {self.user_name}, a client of
# "{self.organization_slug}". The Headers tab below holds their
# token: press Run (the play button, Ctrl-Enter).
# Docs (the book icon, top left) describe every
# type and field; `bookings serve --demo` prints
# the other logins.

query DemoNextWeek {{
  me {{ firstName lastName role }}
  creditBalance {{ balance }}
  availability(
    professionalIds: [
{ids_lines}
    ]
    from: "{monday.isoformat()}"  # next week
    to: "{(monday + timedelta(days=6)).isoformat()}"
  ) {{
    professional {{
      specialization
      creditCost
      user {{ firstName lastName }}
    }}
    timeZone
    days {{ date slots {{ id startsAt endsAt }} }}
  }}
}}
"""


@dataclass(frozen=True)
class GraphiQLPage:
    assets_url: str = SELF_HOSTED_ASSETS
    demo: DemoSession | None = None
    # Today's date, for the demo document; fixed only by tests.
    today: Callable[[], date] = field(default=date.today, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, demo=None) -> "GraphiQLPage":
        """`demo`: the `app.demo.DemoOrganization` of `bookings serve --demo`, if any."""
        return cls(assets_url=assets_url(settings),
                   demo=DemoSession.of(demo) if demo is not None else None)

    def config(self) -> dict:
        """What app/graphiql.js starts GraphiQL with."""
        if self.demo is None:
            return {"document": WELCOME_DOCUMENT, "headers": None, "editorTools": True}
        return {"document": self.demo.document(self.today()), "headers": self.demo.headers(),
                "editorTools": "headers"}

    def content_security_policy(self) -> str:
        """Only our own origin and the assets' origin; no inline script, no eval."""
        assets = _origin(self.assets_url)
        sources = "'self'" + (f" {assets}" if assets else "")
        return "; ".join([
            "default-src 'none'",
            f"script-src {sources}",
            f"style-src {sources}",
            f"font-src {sources} data:",  # GraphiQL's stylesheet embeds its fonts
            "img-src 'self' data:",
            "connect-src 'self'",  # queries, and the websocket of subscriptions
            "base-uri 'none'",
            "form-action 'none'",
        ])

    def html(self) -> str:
        # JSON in a <script> element ends at the first "</": escape every "<".
        config = json.dumps(self.config()).replace("<", "\\u003c")
        stylesheets = "\n".join(
            f'    <link rel="stylesheet" crossorigin href="{escape(asset.url(self.assets_url))}"'
            f' integrity="{asset.integrity}" />'
            for asset in ASSETS if asset.is_stylesheet)
        scripts = "\n".join(
            f'    <script crossorigin src="{escape(asset.url(self.assets_url))}"'
            f' integrity="{asset.integrity}"></script>'
            for asset in ASSETS if not asset.is_stylesheet)
        return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta http-equiv="Content-Security-Policy" content="{escape(self.content_security_policy())}" />
    <title>Bookings GraphiQL</title>
    <link rel="icon" href="data:," />
{stylesheets}
    <link rel="stylesheet" href="{ROUTES_PREFIX}/page.css" />
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL from {escape(self.assets_url)} ...</div>
    <script type="application/json" id="graphiql-config">{config}</script>
{scripts}
    <script src="{ROUTES_PREFIX}/page.js"></script>
  </body>
</html>
"""


def assets_url(settings: Settings) -> str:
    """BOOKINGS_GRAPHIQL_ASSETS_URL (a CDN or mirror, opt-in), else this server's own copy."""
    if settings.graphiql_assets_url:
        return settings.graphiql_assets_url.rstrip("/")
    return SELF_HOSTED_ASSETS


def assets_folder(settings: Settings) -> Path | None:
    """The folder this server serves the assets from; None when they come from a URL.

    Every file must be there with the bytes its integrity hash names, or the server does not
    start: a browser would refuse the page's scripts one by one, and the page would stay
    blank with no word of why.
    """
    if not settings.graphiql_enabled or settings.graphiql_assets_url:
        return None
    folder = settings.graphiql_assets_dir
    setting = f"BOOKINGS_GRAPHIQL_ASSETS_DIR={folder}"
    if folder is None:
        folder = BUNDLED_ASSETS
        setting = (f"the GraphiQL assets of the installed package ({folder}; reinstall it, or "
                   "set BOOKINGS_GRAPHIQL_ASSETS_DIR or BOOKINGS_GRAPHIQL_ASSETS_URL)")
    if not folder.is_dir():
        raise ConfigurationError(f"{setting}: not a folder")
    for asset in ASSETS:
        file = folder / asset.path
        if not file.is_file():
            raise ConfigurationError(f"{setting}: {asset.path} is missing")
        if not asset.matches(file.read_bytes()):
            raise ConfigurationError(
                f"{setting}: {asset.path} is not the published file (its hash differs)")
    return folder


class _VersionedFiles(StaticFiles):
    """Files whose URL names their version, so browsers may keep them for good."""

    async def get_response(self, path: str, scope: Scope):
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["cache-control"] = "public, max-age=31536000, immutable"
        return response


def graphiql_routes(settings: Settings) -> list[BaseRoute]:
    """The page's own script and stylesheet, and the assets unless they come from a URL."""
    if not settings.graphiql_enabled:
        return []

    async def page_script(_: Request) -> FileResponse:
        return FileResponse(_STATIC / "graphiql.js", media_type="text/javascript")

    async def page_stylesheet(_: Request) -> FileResponse:
        return FileResponse(_STATIC / "graphiql.css", media_type="text/css")

    routes: list[BaseRoute] = [
        Route("/page.js", page_script),
        Route("/page.css", page_stylesheet),
    ]
    folder = assets_folder(settings)
    if folder is not None:
        routes.append(Mount("/assets", _VersionedFiles(directory=folder)))
    return [Mount(ROUTES_PREFIX, routes=routes)]


def _origin(url: str) -> str | None:
    """`scheme://host[:port]` of an absolute URL; None for a path on this server."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None

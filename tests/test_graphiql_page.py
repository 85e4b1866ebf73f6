"""The GraphiQL page: where its files come from, its policy, and the demo it opens with.

tests/browser runs it in Chromium; these check the page's parts without a browser.
"""

import json
import re
from datetime import date

import httpx
import pytest
from graphql import parse, validate

from app.api.schema import schema
from app.config import ConfigurationError, Settings
from app.demo import DemoOrganization, DemoProfessional
from app.graphiql import ASSETS, GraphiQLPage, graphiql_routes
from app.web import create_app

DEMO = DemoOrganization(slug="demo", logins=[], admin_token="admin.jwt.token",
                        client_token="client.jwt.token", client_name="David Parent",
                        professionals=(DemoProfessional(id=1, name="María López"),
                                       DemoProfessional(id=2, name="Tom Becker")))


def page_config(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="graphiql-config">(.*?)</script>',
                      html, flags=re.DOTALL)
    return json.loads(found.group(1))


def policy(html: str) -> str:
    return re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html).group(1)


async def get(app, path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        return await client.get(path, headers={"accept": "text/html"})


async def test_the_page_loads_strawberrys_graphiql_files_from_the_cdn_by_default(db, settings):
    response = await get(create_app(db, settings), "/graphql")
    assert response.status_code == 200
    for asset in ASSETS:
        assert f'"https://unpkg.com/{asset.package}@{asset.version}/{asset.file}"' in response.text
        assert f'integrity="{asset.integrity}"' in response.text
    # No inline script runs: GraphiQL starts from our own file, which the server serves.
    assert re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", response.text) == []
    assert "script-src &#x27;self&#x27; https://unpkg.com;" in policy(response.text)
    script = await get(create_app(db, settings), "/graphiql/page.js")
    assert script.status_code == 200 and "GraphiQL.createFetcher" in script.text
    assert page_config(response.text)["headers"] is None  # not in demo mode: no token


async def test_a_mirror_replaces_the_cdn_in_the_page_and_its_policy(db, settings):
    mirrored = settings.model_copy(update={"graphiql_assets_url": "https://npm.example.com/cdn/"})
    html = (await get(create_app(db, mirrored), "/graphql")).text
    assert "unpkg.com" not in html
    assert '"https://npm.example.com/cdn/react@18.2.0/umd/react.production.min.js"' in html
    assert "script-src &#x27;self&#x27; https://npm.example.com;" in policy(html)


async def test_the_server_serves_a_folder_of_assets_laid_out_like_the_cdn(db, settings, tmp_path):
    react = tmp_path / "react@18.2.0" / "umd" / "react.production.min.js"
    react.parent.mkdir(parents=True)
    react.write_text("/* react */")
    app = create_app(db, settings.model_copy(update={"graphiql_assets_dir": tmp_path}))
    html = (await get(app, "/graphql")).text
    assert '"/graphiql/assets/react@18.2.0/umd/react.production.min.js"' in html
    assert "script-src &#x27;self&#x27;;" in policy(html)  # nothing from elsewhere
    served = await get(app, "/graphiql/assets/react@18.2.0/umd/react.production.min.js")
    assert (served.status_code, served.text) == (200, "/* react */")


def test_a_missing_assets_folder_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="BOOKINGS_GRAPHIQL_ASSETS_DIR"):
        graphiql_routes(Settings(graphiql_assets_dir=tmp_path / "nowhere"))


def test_demo_mode_opens_a_valid_document_for_next_week_with_the_clients_header():
    page = GraphiQLPage.from_settings(Settings(), demo=DEMO)
    page = GraphiQLPage(assets_url=page.assets_url, demo=page.demo,
                        today=lambda: date(2026, 3, 5))  # a Thursday
    config = page_config(page.html())
    assert json.loads(config["headers"]) == {"Authorization": "Bearer client.jwt.token"}
    document = config["document"]
    assert validate(schema._schema, parse(document)) == []
    assert '"UHJvZmVzc2lvbmFsOjE"  # María López' in document  # Professional:1
    assert 'from: "2026-03-09"' in document and 'to: "2026-03-15"' in document
    assert "you are David Parent" in document


def test_the_page_config_cannot_close_its_script_element():
    demo = DemoOrganization(slug="</script><script>alert(1)</script>", logins=[],
                            admin_token="", client_token="", client_name="x")
    html = GraphiQLPage.from_settings(Settings(), demo=demo).html()
    assert "</script><script>alert(1)" not in html
    assert "alert(1)" in page_config(html)["document"]

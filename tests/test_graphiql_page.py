"""The GraphiQL page: where its files come from, its policy, and the demo it opens with.

tests/browser runs it in Chromium; these check the page's parts without a browser.
"""

import json
import re
import shutil
from datetime import date

import httpx
import pytest
from graphql import parse, validate
from starlette.applications import Starlette

from app.api.schema import schema
from app.config import ConfigurationError, Settings
from app.demo import DemoOrganization, DemoProfessional
from app.graphiql import ASSETS, BUNDLED_ASSETS, GraphiQLPage, assets_folder, graphiql_routes
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


async def test_by_default_the_server_serves_graphiqls_files_itself(db, settings):
    app = create_app(db, settings)
    response = await get(app, "/graphql")
    assert response.status_code == 200
    for asset in ASSETS:
        assert f'"/graphiql/assets/{asset.package}@{asset.version}/{asset.file}"' in response.text
        assert f'integrity="{asset.integrity}"' in response.text
        served = await get(app, f"/graphiql/assets/{asset.path}")
        assert served.status_code == 200, asset.path
        assert asset.matches(served.content), asset.path  # what the browser will check
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    # Nothing from elsewhere, and no inline script runs: GraphiQL starts from our own file.
    assert "://" not in policy(response.text)
    assert "script-src &#x27;self&#x27;;" in policy(response.text)
    assert re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", response.text) == []
    script = await get(app, "/graphiql/page.js")
    assert script.status_code == 200 and "GraphiQL.createFetcher" in script.text
    assert page_config(response.text)["headers"] is None  # not in demo mode: no token


def test_the_bundled_assets_are_the_published_files_with_their_licences():
    for asset in ASSETS:
        assert asset.matches((BUNDLED_ASSETS / asset.path).read_bytes()), asset.path
        licence = BUNDLED_ASSETS / f"{asset.package}@{asset.version}" / "LICENSE"
        assert "MIT License" in licence.read_text(), licence


async def test_only_the_assets_folder_is_served(settings):
    app = Starlette(routes=graphiql_routes(settings))
    assert (await get(app, "/graphiql/assets/react@18.2.0/package.json")).status_code == 404
    assert (await get(app, "/graphiql/assets/../../config.py")).status_code == 404
    assert (await get(app, "/graphiql/assets/%2e%2e/graphiql.py")).status_code == 404


async def test_a_cdn_or_mirror_is_an_opt_in_that_the_page_and_its_policy_follow(db, settings):
    mirrored = settings.model_copy(update={"graphiql_assets_url": "https://npm.example.com/cdn/"})
    html = (await get(create_app(db, mirrored), "/graphql")).text
    assert "/graphiql/assets/" not in html
    assert '"https://npm.example.com/cdn/react@18.2.0/umd/react.production.min.js"' in html
    assert "script-src &#x27;self&#x27; https://npm.example.com;" in policy(html)


async def test_the_server_serves_a_folder_of_its_operators_instead(db, settings, tmp_path):
    shutil.copytree(BUNDLED_ASSETS, tmp_path / "assets")
    (tmp_path / "assets" / "note.txt").write_text("ours")
    app = create_app(db, settings.model_copy(update={"graphiql_assets_dir": tmp_path / "assets"}))
    html = (await get(app, "/graphql")).text
    assert '"/graphiql/assets/react@18.2.0/umd/react.production.min.js"' in html
    served = await get(app, "/graphiql/assets/note.txt")
    assert (served.status_code, served.text) == (200, "ours")


def test_a_missing_assets_folder_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="BOOKINGS_GRAPHIQL_ASSETS_DIR=.*not a folder"):
        graphiql_routes(Settings(graphiql_assets_dir=tmp_path / "nowhere"))


def test_an_assets_folder_missing_a_file_is_a_configuration_error_naming_it(tmp_path):
    shutil.copytree(BUNDLED_ASSETS, tmp_path / "assets")
    (tmp_path / "assets" / "graphiql@3.8.3" / "graphiql.min.js").unlink()
    with pytest.raises(ConfigurationError,
                       match=r"BOOKINGS_GRAPHIQL_ASSETS_DIR=.*: graphiql@3.8.3/graphiql.min.js is missing"):
        assets_folder(Settings(graphiql_assets_dir=tmp_path / "assets"))


def test_an_assets_folder_with_other_bytes_is_a_configuration_error(tmp_path):
    shutil.copytree(BUNDLED_ASSETS, tmp_path / "assets")
    (tmp_path / "assets" / "react@18.2.0" / "umd" / "react.production.min.js").write_text("x")
    with pytest.raises(ConfigurationError, match="react.production.min.js is not the published"):
        assets_folder(Settings(graphiql_assets_dir=tmp_path / "assets"))


def test_with_a_url_or_graphiql_off_no_folder_is_needed(tmp_path):
    nowhere = tmp_path / "nowhere"
    assert assets_folder(Settings(graphiql_assets_dir=nowhere, graphiql=False)) is None
    assert assets_folder(Settings(graphiql_assets_dir=nowhere,
                                  graphiql_assets_url="https://unpkg.com")) is None


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

"""The development path: the demo's invited user, whose link the banner prints, and the
pages emailed links open while no frontend is configured (BOOKINGS_APP_URL unset)."""

from dataclasses import replace
from pathlib import Path

from app.cli import serve_banner
from app.config import Settings
from app.demo import seed_demo
from tests.accounts.support import STRONG_PASSWORD
from tests.accounts.test_invitations import accept


async def test_the_demo_invites_one_person_whose_printed_link_lets_them_in(
        api, db, settings, tmp_path: Path):
    demo = await seed_demo(db, settings)
    banner = serve_banner(host="127.0.0.1", port=8000, url="postgresql://embedded",
                          settings=Settings(data_dir=tmp_path), demo=demo)

    link = f"http://127.0.0.1:8000/accept-invitation?token={demo.invitation_token}"
    assert f"    {link}" in banner.splitlines()
    accepted = await accept(api, demo.invitation_token, STRONG_PASSWORD)
    assert accepted["user"]["email"] == "nina@demo.example"
    assert (await seed_demo(db, settings)).invitation_token is None  # nothing pending now


async def test_the_banner_prints_no_link_in_production(db, settings, tmp_path: Path):
    demo = await seed_demo(db, settings)
    production = Settings(data_dir=tmp_path, env="production", app_url="https://app.example")

    banner = serve_banner(host="127.0.0.1", port=8000, url="postgresql://embedded",
                          settings=production, demo=replace(demo, invitation_token="t" * 43))

    assert "accept-invitation" not in banner


async def test_links_open_a_page_here_until_a_frontend_is_configured(app_with):
    here = app_with()
    elsewhere = app_with(app_url="https://app.example.com")

    page = await here.get("/accept-invitation", params={"token": "abc"})
    script = await here.get("/account-page.js")
    reset = await here.get("/reset-password")

    assert page.status_code == 200
    assert 'data-mutation="acceptInvitation"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    assert script.headers["content-type"].startswith("text/javascript")
    assert 'data-mutation="resetPassword"' in reset.text
    assert (await elsewhere.get("/accept-invitation")).status_code == 404

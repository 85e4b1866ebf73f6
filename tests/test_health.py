"""Liveness and readiness endpoints."""

import httpx

from app.db import Database
from app.web import create_app


async def test_healthz_and_readyz_answer_while_the_database_does(api):
    health = await api.http.get("/healthz")
    ready = await api.http.get("/readyz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


async def test_readyz_is_503_when_the_database_is_unreachable(settings):
    unreachable = Database("postgresql://nobody@127.0.0.1:1/nothing", pool_size=1)
    app = create_app(unreachable, settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
    await unreachable.dispose()
    assert health.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"


async def test_graphiql_is_served_to_browsers(api):
    response = await api.http.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()

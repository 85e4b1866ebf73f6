"""CORS: listed origins (and, in development, any local port) may call the API from a
browser; any other origin gets no Access-Control header at all. tests/browser proves the
same in Chromium."""

import pytest

from app.config import Environment, Settings
from tests.support import settings_refusal

APP = "https://app.example.com"
PREFLIGHT = {"access-control-request-method": "POST",
             "access-control-request-headers": "authorization, content-type, x-organization"}


def cors_headers(response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items()
            if name.startswith("access-control-")}


@pytest.mark.parametrize(("environment", "origin"), [
    (Environment.PRODUCTION, APP),
    (Environment.DEVELOPMENT, APP),
    (Environment.DEVELOPMENT, "http://localhost:5173"),
    (Environment.DEVELOPMENT, "http://127.0.0.1:4000"),
])
async def test_an_allowed_origin_may_preflight_and_read_the_answer(app_with, environment, origin):
    client = app_with(env=environment, cors_origins=(APP,))
    preflight = await client.options("/graphql", headers={"origin": origin, **PREFLIGHT})
    answer = await client.post("/graphql", json={"query": "{ __typename }"},
                               headers={"origin": origin})

    assert preflight.status_code == 200
    assert cors_headers(preflight) == {
        "access-control-allow-origin": origin,
        "access-control-allow-methods": "GET, POST",
        "access-control-allow-headers": ("Accept, Accept-Language, Authorization, "
                                         "Content-Language, Content-Type, X-Organization, "
                                         "X-Request-ID"),
        "access-control-max-age": "600",
    }
    assert "access-control-allow-credentials" not in preflight.headers
    assert answer.headers["access-control-allow-origin"] == origin
    assert answer.headers["access-control-expose-headers"] == "X-Request-ID, Retry-After"
    assert "Origin" in answer.headers["vary"]


@pytest.mark.parametrize(("environment", "origin"), [
    (Environment.PRODUCTION, "https://evil.example.com"),
    (Environment.PRODUCTION, "http://localhost:5173"),  # local ports: development only
    (Environment.DEVELOPMENT, "https://app.example.com.evil.com"),
    (Environment.DEVELOPMENT, "http://localhost.evil.com"),
])
async def test_any_other_origin_gets_no_cors_header(app_with, environment, origin):
    client = app_with(env=environment, cors_origins=(APP,))
    preflight = await client.options("/graphql", headers={"origin": origin, **PREFLIGHT})
    answer = await client.post("/graphql", json={"query": "{ __typename }"},
                               headers={"origin": origin})

    assert preflight.status_code == 403
    assert cors_headers(preflight) == {} == cors_headers(answer)
    assert "Origin" in preflight.headers["vary"] and "Origin" in answer.headers["vary"]


def test_origins_are_read_from_a_comma_separated_list(monkeypatch):
    monkeypatch.setenv("BOOKINGS_CORS_ORIGINS", " https://App.Example.com , http://localhost:8080/,")
    assert Settings().cors_origins == ("https://app.example.com", "http://localhost:8080")


@pytest.mark.parametrize(("value", "message"), [
    ("https://app.example.com/app", "only scheme://host[:port], no path"),
    ("*", "not wildcards"),
    ("https://*.example.com", "not wildcards"),
    ("app.example.com", "needs a scheme and a host"),
    ("ftp://files.example.com", "needs a scheme and a host"),
    ("https://app.example.com:http", "port is not a number"),
    ("https://user@app.example.com", "no path"),
])
def test_a_value_that_is_not_an_origin_stops_the_server_naming_it(monkeypatch, value, message):
    refusal = settings_refusal(monkeypatch, BOOKINGS_CORS_ORIGINS=value)
    assert refusal.startswith(f"BOOKINGS_CORS_ORIGINS={value!r} is not valid: ")
    assert message in refusal

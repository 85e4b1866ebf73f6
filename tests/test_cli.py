"""The `bookings` command, run as a user would, against the test database."""

import os
import subprocess
import sys

import pytest

from app.config import ConfigurationError, Environment, Settings


def bookings(*arguments: str, database_url: str, data_dir, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DATABASE_URL": database_url,
                   "BOOKINGS_DATA_DIR": str(data_dir),
                   "BOOKINGS_SECRET_KEY": "cli-test-secret-key-long-enough-for-hs256", **env}
    return subprocess.run([sys.executable, "-m", "app.cli", *arguments], env=environment,
                          check=False, capture_output=True, text=True, timeout=120)


def test_org_create_then_token_then_the_token_works(database_url, tmp_path, api):
    created = bookings("org", "create", "cli-centre", "--name", "CLI Centre",
                       "--time-zone", "Europe/Madrid", "--admin-email", "boss@cli.example",
                       "--admin-password", "a-strong-password", database_url=database_url,
                       data_dir=tmp_path)
    assert created.returncode == 0, created.stderr
    assert "Created organization 'cli-centre'" in created.stdout

    duplicate = bookings("org", "create", "cli-centre", "--name", "Again", "--time-zone", "UTC",
                         "--admin-email", "x@cli.example", "--admin-password", "a-strong-password",
                         database_url=database_url, data_dir=tmp_path)
    assert duplicate.returncode != 0
    assert "already exists" in duplicate.stderr

    token = bookings("token", "--org", "cli-centre", "--email", "boss@cli.example",
                     database_url=database_url, data_dir=tmp_path)
    assert token.returncode == 0, token.stderr
    assert token.stdout.count(".") == 2  # a JWT


def test_org_create_refuses_an_unknown_time_zone(database_url, tmp_path):
    result = bookings("org", "create", "bad-zone", "--name", "Bad", "--time-zone", "Moon/Base",
                      "--admin-email", "a@b.example", "--admin-password", "a-strong-password",
                      database_url=database_url, data_dir=tmp_path)
    assert result.returncode != 0
    assert "Unknown time zone 'Moon/Base'" in result.stderr


@pytest.mark.parametrize(("missing", "message"), [
    (("secret_key", "database_url", "app_url"),
     "BOOKINGS_SECRET_KEY, DATABASE_URL and BOOKINGS_APP_URL"),
    (("secret_key", "database_url"), "BOOKINGS_SECRET_KEY and DATABASE_URL"),
    (("app_url",), "BOOKINGS_APP_URL"),  # emailed links must not point at the API's own host
])
def test_production_refuses_to_start_without_secret_database_and_app_url(missing, message):
    configured = {"secret_key": "production-secret-key-long-enough-for-hs256",
                  "database_url": "postgresql://bookings@db.example/bookings",
                  "app_url": "https://app.example.com"}
    settings = Settings(env=Environment.PRODUCTION,
                        **{name: None if name in missing else value
                           for name, value in configured.items()})
    with pytest.raises(ConfigurationError) as refused:
        settings.check_can_serve()
    assert str(refused.value) == f"BOOKINGS_ENV=production requires {message} to be set"


def test_production_with_secret_database_and_app_url_may_serve():
    Settings(env=Environment.PRODUCTION, secret_key="production-secret-key-long-enough-for-hs256",
             database_url="postgresql://bookings@db.example/bookings",
             app_url="https://app.example.com").check_can_serve()


def test_serve_in_production_without_secret_exits_with_one_line(tmp_path):
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("DATABASE_URL", "BOOKINGS_SECRET_KEY", "BOOKINGS_APP_URL")}
    environment.update(BOOKINGS_ENV="production", BOOKINGS_DATA_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "app.cli", "serve"], env=environment,
                            check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == ("bookings: BOOKINGS_ENV=production requires "
                                     "BOOKINGS_SECRET_KEY, DATABASE_URL and BOOKINGS_APP_URL "
                                     "to be set")


def test_development_secret_is_generated_once_and_kept(tmp_path):
    first = Settings(data_dir=tmp_path, secret_key=None).signing_key()
    second = Settings(data_dir=tmp_path, secret_key=None).signing_key()
    assert first == second
    assert len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0

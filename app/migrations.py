"""Applying the Alembic revisions from code (the CLI, the server start-up, the tests)."""

from pathlib import Path

from alembic import command
from alembic.config import Config

from app.db import sqlalchemy_url

_PACKAGE_DIR = Path(__file__).resolve().parent


def _script_location() -> Path:
    # Installed from a wheel the revisions ship inside the package;
    # in a source checkout they sit at the repository root.
    for candidate in (_PACKAGE_DIR / "_migrations", _PACKAGE_DIR.parent / "migrations"):
        if (candidate / "env.py").exists():
            return candidate
    raise FileNotFoundError("No migrations directory found beside the app package.")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_script_location()))
    # ConfigParser interpolation would eat a literal '%' in a password.
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)

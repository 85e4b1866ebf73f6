"""Settings read from the environment (and an optional `.env`)."""

import os
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class ConfigurationError(Exception):
    """The settings cannot run a server; the message says why in one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    data_dir: Path = Field(default=Path(".bookings"), validation_alias="BOOKINGS_DATA_DIR")
    secret_key: str | None = Field(default=None, validation_alias="BOOKINGS_SECRET_KEY")
    env: Environment = Field(default=Environment.DEVELOPMENT, validation_alias="BOOKINGS_ENV")
    token_lifetime_minutes: int = Field(
        default=12 * 60, gt=0, validation_alias="BOOKINGS_TOKEN_LIFETIME_MINUTES"
    )
    db_pool_size: int = Field(default=10, gt=0, validation_alias="BOOKINGS_DB_POOL_SIZE")

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    def check_can_serve(self) -> None:
        """Refuse production settings that would run insecurely or on a throwaway database."""
        if not self.is_production:
            return
        missing = [
            name
            for name, value in (
                ("BOOKINGS_SECRET_KEY", self.secret_key),
                ("DATABASE_URL", self.database_url),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(
                f"BOOKINGS_ENV=production requires {' and '.join(missing)} to be set"
            )

    def signing_key(self) -> str:
        """The token signing key; in development one is generated once and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        self.check_can_serve()
        key_file = self.data_dir / "secret_key"
        if not key_file.exists():
            _publish_file_once(key_file, secrets.token_urlsafe(48))
        self.secret_key = key_file.read_text().strip()
        return self.secret_key


def _publish_file_once(path: Path, content: str) -> None:
    """Create `path` with `content` unless it exists; two racing servers agree on one file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    draft.touch(mode=0o600)
    draft.write_text(content)
    try:
        os.link(draft, path)  # atomic: fails if another process published first
    except FileExistsError:
        pass
    finally:
        draft.unlink()


@lru_cache
def get_settings() -> Settings:
    return Settings()

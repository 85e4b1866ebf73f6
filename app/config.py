"""Settings read from the environment (and an optional `.env`)."""

import os
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class SmtpSecurity(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    SSL = "ssl"


class TraceExporter(StrEnum):
    """Where OpenTelemetry spans go (app/tracing.py); `none` turns tracing off."""

    NONE = "none"
    CONSOLE = "console"
    OTLP = "otlp"


class LogFormat(StrEnum):
    JSON = "json"
    TEXT = "text"


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

    # Scale-out (issue 9, docs/deploy.md): read-only queries on a replica, a direct connection
    # for LISTEN when DATABASE_URL goes through PgBouncer, and PgBouncer's transaction mode.
    database_read_url: str | None = Field(default=None, validation_alias="DATABASE_READ_URL")
    database_listen_url: str | None = Field(default=None, validation_alias="DATABASE_LISTEN_URL")
    db_pgbouncer: bool = Field(default=False, validation_alias="BOOKINGS_DB_PGBOUNCER")

    # Background work (app/jobs) and notifications (app/notifications).
    run_worker: bool = Field(default=False, validation_alias="BOOKINGS_RUN_WORKER")
    worker_concurrency: int = Field(default=4, gt=0, validation_alias="BOOKINGS_WORKER_CONCURRENCY")
    smtp_host: str | None = Field(default=None, validation_alias="BOOKINGS_SMTP_HOST")
    smtp_port: int = Field(default=587, gt=0, lt=65536, validation_alias="BOOKINGS_SMTP_PORT")
    smtp_security: SmtpSecurity = Field(
        default=SmtpSecurity.STARTTLS, validation_alias="BOOKINGS_SMTP_SECURITY"
    )
    smtp_username: str | None = Field(default=None, validation_alias="BOOKINGS_SMTP_USERNAME")
    smtp_password: str | None = Field(default=None, validation_alias="BOOKINGS_SMTP_PASSWORD")
    smtp_timeout_seconds: float = Field(
        default=10.0, gt=0, validation_alias="BOOKINGS_SMTP_TIMEOUT_SECONDS"
    )
    mail_from: str = Field(default="bookings@localhost", validation_alias="BOOKINGS_MAIL_FROM")
    notification_max_attempts: int = Field(
        default=5, gt=0, validation_alias="BOOKINGS_NOTIFICATION_MAX_ATTEMPTS"
    )

    # Hardening (issue 7): what the open internet may send, and how long the database may take.
    # None: on in development, off in production.
    graphiql: bool | None = Field(default=None, validation_alias="BOOKINGS_GRAPHIQL")
    introspection: bool | None = Field(default=None, validation_alias="BOOKINGS_INTROSPECTION")
    max_body_bytes: int = Field(default=100_000, gt=0, validation_alias="BOOKINGS_MAX_BODY_BYTES")
    max_batch_operations: int = Field(
        default=10, ge=0, validation_alias="BOOKINGS_MAX_BATCH_OPERATIONS"
    )
    login_max_failures: int = Field(default=5, gt=0, validation_alias="BOOKINGS_LOGIN_MAX_FAILURES")
    login_throttle_seconds: int = Field(
        default=900, gt=0, le=86_400, validation_alias="BOOKINGS_LOGIN_THROTTLE_SECONDS"
    )
    # The frontend's base URL, for the links in invitation and password-reset emails;
    # unset (development only): this server's own URL.
    app_url: str | None = Field(default=None, validation_alias="BOOKINGS_APP_URL")
    signup_max_per_organization: int = Field(
        default=100, gt=0, validation_alias="BOOKINGS_SIGNUP_MAX_PER_ORGANIZATION"
    )
    signup_max_per_address: int = Field(
        default=10, gt=0, validation_alias="BOOKINGS_SIGNUP_MAX_PER_ADDRESS"
    )
    signup_throttle_seconds: int = Field(
        default=3600, gt=0, le=86_400, validation_alias="BOOKINGS_SIGNUP_THROTTLE_SECONDS"
    )
    password_reset_max_requests: int = Field(
        default=5, gt=0, validation_alias="BOOKINGS_PASSWORD_RESET_MAX_REQUESTS"
    )
    password_reset_throttle_seconds: int = Field(
        default=3600, gt=0, le=86_400, validation_alias="BOOKINGS_PASSWORD_RESET_THROTTLE_SECONDS"
    )
    db_connect_timeout_seconds: float = Field(
        default=5.0, gt=0, validation_alias="BOOKINGS_DB_CONNECT_TIMEOUT_SECONDS"
    )
    db_pool_timeout_seconds: float = Field(
        default=5.0, gt=0, validation_alias="BOOKINGS_DB_POOL_TIMEOUT_SECONDS"
    )
    db_statement_timeout_seconds: float = Field(
        default=30.0, gt=0, validation_alias="BOOKINGS_DB_STATEMENT_TIMEOUT_SECONDS"
    )
    # None: `text` in development, `json` in production (`effective_log_format`).
    log_format: LogFormat | None = Field(default=None, validation_alias="BOOKINGS_LOG_FORMAT")
    log_level: str = Field(
        default="INFO", pattern="(?i)^(debug|info|warning|error|critical)$",
        validation_alias="BOOKINGS_LOG_LEVEL",
    )

    # Developer experience: where GraphiQL's files come from, and tracing. Unset: the server
    # serves them itself, from BOOKINGS_GRAPHIQL_ASSETS_DIR or the package's copy
    # (app/graphiql.py); a URL (a CDN or a mirror) is the opt-in to load them from there.
    graphiql_assets_url: str | None = Field(
        default=None, validation_alias="BOOKINGS_GRAPHIQL_ASSETS_URL"
    )
    graphiql_assets_dir: Path | None = Field(
        default=None, validation_alias="BOOKINGS_GRAPHIQL_ASSETS_DIR"
    )
    otel_exporter: TraceExporter = Field(
        default=TraceExporter.NONE, validation_alias="BOOKINGS_OTEL_EXPORTER"
    )

    # Frontends: the exact origins of browser apps that may call the API (CORS; in
    # development any localhost or 127.0.0.1 port may too), and persisted documents
    # (app/api/persisted.py).
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), validation_alias="BOOKINGS_CORS_ORIGINS")
    # Persisted documents (app/api/endpoint.py). APQ keeps documents in memory,
    # within this many bytes; a manifest of trusted documents allows only those to run.
    apq_cache_bytes: int = Field(default=5_000_000, ge=0, validation_alias="BOOKINGS_APQ_CACHE_BYTES")
    trusted_documents: Path | None = Field(default=None,
                                           validation_alias="BOOKINGS_TRUSTED_DOCUMENTS")

    # Paying online for credit packages (app/payments/; docs/payments.md). Without a secret
    # key checkouts are refused; without a webhook secret no event is believed.
    stripe_secret_key: str | None = Field(default=None,
                                          validation_alias="BOOKINGS_STRIPE_SECRET_KEY")
    stripe_webhook_secret: str | None = Field(default=None,
                                              validation_alias="BOOKINGS_STRIPE_WEBHOOK_SECRET")
    stripe_api_base: str = Field(default="https://api.stripe.com",
                                 validation_alias="BOOKINGS_STRIPE_API_BASE")
    # How long a buyer has to pay; Stripe takes 30 minutes to 24 hours.
    checkout_lifetime_minutes: int = Field(
        default=60, ge=30, le=1440, validation_alias="BOOKINGS_CHECKOUT_LIFETIME_MINUTES")

    # Performance (issue 8): an X-SQL-Statements header on every /graphql answer, counting the
    # statements (BEGIN and COMMIT included) the request ran. For the benchmark; off by default.
    count_sql: bool = Field(default=False, validation_alias="BOOKINGS_COUNT_SQL")
    # Queries that resolve without incident skip graphql-core's per-field machinery
    # (app/api/execution.py). Off: every operation runs on graphql-core's executor alone.
    fast_queries: bool = Field(default=True, validation_alias="BOOKINGS_FAST_QUERIES")
    # The hot queries answered by compiled plans, with JSON built by PostgreSQL
    # (app/api/compiled.py). Off: every query takes the road above.
    compiled_queries: bool = Field(default=True, validation_alias="BOOKINGS_COMPILED_QUERIES")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _exact_origins(cls, value: object) -> tuple[str, ...]:
        """A comma-separated list of origins, each `scheme://host[:port]` and nothing more."""
        listed = value.split(",") if isinstance(value, str) else value
        return tuple(_origin(str(item).strip()) for item in listed or () if str(item).strip())

    @field_validator("app_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        """An http(s) URL with a host, kept without its trailing slash (links append paths)."""
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not a base URL such as https://app.example.com")
        if parts.query or parts.fragment:
            raise ValueError(f"{value!r}: a base URL has no query or fragment")
        return value.strip().rstrip("/")

    @property
    def cors_origin_pattern(self) -> str | None:
        """Origins allowed beyond the list: any local port in development, none in production."""
        return None if self.is_production else LOCAL_ORIGINS

    @property
    def effective_log_format(self) -> LogFormat:
        if self.log_format is not None:
            return self.log_format
        return LogFormat.JSON if self.is_production else LogFormat.TEXT

    @property
    def graphiql_enabled(self) -> bool:
        return (not self.is_production) if self.graphiql is None else self.graphiql

    @property
    def introspection_enabled(self) -> bool:
        return (not self.is_production) if self.introspection is None else self.introspection

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
                ("BOOKINGS_APP_URL", self.app_url),
            )
            if not value
        ]
        if len(missing) > 1:
            missing = [", ".join(missing[:-1]), missing[-1]]
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


# Any port of localhost or 127.0.0.1 (a Vite dev server, say), over http or https.
LOCAL_ORIGINS = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?"


def _origin(text: str) -> str:
    """`text` as a browser sends it in an Origin header, or ValueError naming what is wrong."""
    parts = urlsplit(text)
    if "*" in text:
        raise ValueError(f"{text!r}: list exact origins, not wildcards (the API sends no "
                         "credentials, so none is needed)")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{text!r} is not an origin: it needs a scheme and a host, "
                         "as in https://app.example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(f"{text!r} is not an origin: only scheme://host[:port], no path")
    try:
        _ = parts.port  # urlsplit checks the port only when asked for it
    except ValueError:
        raise ValueError(f"{text!r} is not an origin: its port is not a number") from None
    return f"{parts.scheme}://{parts.netloc.lower()}"


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
    """The settings of this process; a bad value is a `ConfigurationError` naming it."""
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigurationError("; ".join(
            f"{'.'.join(map(str, problem['loc']))}={problem['input']!r} is not valid: "
            f"{problem['msg'].removeprefix('Value error, ')}"
            for problem in error.errors())) from None

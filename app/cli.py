"""The `bookings` command: serve, run workers, migrate, seed, create organizations, print tokens."""

import argparse
import asyncio
import gc
import signal
import sys
import warnings
from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

from app import migrations
from app.config import ConfigurationError, Settings, get_settings
from app.db import Database, describe_url, resolve_database_url
from app.errors import AppError
from app.logs import configure_logging

SCHEMA_FILE = Path("schema.graphql")


def main(argv: list[str] | None = None) -> None:
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    arguments = _parser().parse_args(argv)
    try:
        settings = get_settings()
        configure_logging(settings)
        arguments.handler(arguments, settings)
    except (ConfigurationError, AppError) as error:
        sys.exit(f"bookings: {error}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bookings", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the GraphQL server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true",
                       help="load demo data, print logins, and run a job worker in the server")
    serve.set_defaults(handler=_serve)

    worker = commands.add_parser("worker", help="run a background job worker (any number may run)")
    worker.add_argument("--concurrency", type=int, default=None,
                        help="jobs run at once (default BOOKINGS_WORKER_CONCURRENCY)")
    worker.add_argument("--name", default=None, help="the worker's name in logs")
    worker.set_defaults(handler=_worker)

    jobs = commands.add_parser("jobs", help="list recent (or failed) background jobs")
    jobs.add_argument("--limit", type=int, default=20)
    jobs.add_argument("--failed", action="store_true", help="failed jobs only")
    jobs.set_defaults(handler=_jobs)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(handler=_migrate)

    seed = commands.add_parser("seed", help="load data")
    seed.add_argument("--demo", action="store_true", required=True, help="the demo organization")
    seed.set_defaults(handler=_seed)

    org = commands.add_parser("org", help="manage organizations")
    org_commands = org.add_subparsers(required=True, metavar="ACTION")
    create = org_commands.add_parser("create", help="create an organization and its admin")
    create.add_argument("slug")
    create.add_argument("--name", required=True)
    create.add_argument("--time-zone", required=True, help="IANA zone, e.g. Europe/Madrid")
    create.add_argument("--currency", default="USD")
    create.add_argument("--admin-email", required=True)
    create.add_argument("--admin-password", required=True)
    create.add_argument("--admin-first-name", default="Admin")
    create.add_argument("--admin-last-name", default="User")
    create.add_argument("--admin-phone", default="+0 000 000 0000",
                        help="defaults to a placeholder to replace later through the API")
    create.set_defaults(handler=_create_org)

    token = commands.add_parser("token", help="print a bearer token for a user")
    token.add_argument("--org", required=True, help="organization slug")
    token.add_argument("--email", required=True)
    token.set_defaults(handler=_token)

    check_ledger = commands.add_parser(
        "check-ledger", help="verify the credit ledger invariants of every organization"
    )
    check_ledger.set_defaults(handler=_check_ledger)

    payments = commands.add_parser("payments", help="online payments of credit packages")
    payment_commands = payments.add_subparsers(required=True, metavar="ACTION")
    reconcile = payment_commands.add_parser(
        "reconcile", help="ask the provider about PENDING purchases whose checkout has ended, "
                          "and settle them")
    reconcile.set_defaults(handler=_reconcile_payments)

    export = commands.add_parser("export-schema", help="write the GraphQL schema (SDL)")
    export.add_argument("--output", type=Path, default=SCHEMA_FILE)
    export.set_defaults(handler=_export_schema)
    return parser


def _database_url(settings: Settings) -> str:
    """The database to use, migrated to the latest revision."""
    url = resolve_database_url(settings.database_url, settings.data_dir)
    migrations.upgrade(url)
    return url


def _run_with_database(
    url: str, work: Callable[[Database], Awaitable[Any]], *, pool_size: int = 2,
    **options: Any,
) -> Any:
    """Runs one piece of async work with a small pool, then closes it."""

    async def run() -> Any:
        db = Database(url, pool_size=pool_size, **options)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def _exit_for_signal(signum: int, _frame: object) -> None:
    sys.exit(128 + signum)


def _serve(arguments: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from app.graphiql import GraphiQLPage, assets_folder
    from app.web import create_app

    settings.check_can_serve()
    assets_folder(settings)  # refuse to start with broken GraphiQL assets, before any work
    settings.signing_key()
    url = _database_url(settings)
    demo = None
    if arguments.demo:
        from app.demo import seed_demo

        demo = _run_with_database(url, lambda db: seed_demo(db, settings))
    if arguments.demo:
        settings = settings.model_copy(update={"run_worker": True})
    _print_banner(arguments, settings, url, demo)
    app = create_app(Database.from_settings(url, settings), settings,
                     graphiql_page=GraphiQLPage.from_settings(settings, demo=demo))
    # What lives as long as the process (modules, the schema, the app) is frozen out of the
    # garbage collector's sweeps: a full sweep over it stalled requests for ~100 ms.
    gc.collect()
    gc.freeze()
    # uvicorn shuts down on SIGTERM, then raises the signal again. With its default action
    # that killed the process before `atexit` ran, and the embedded PostgreSQL outlived the
    # last server using it. Exiting through Python keeps the status a supervisor expects.
    signal.signal(signal.SIGTERM, _exit_for_signal)
    # Our JSON logging throughout; the app logs each request itself (with its request id).
    # uvloop and httptools (uvicorn[standard]): the fastest event loop and HTTP parser.
    uvicorn.run(app, host=arguments.host, port=arguments.port, log_config=None, access_log=False,
                loop="uvloop", http="httptools")


def _print_banner(arguments: argparse.Namespace, settings: Settings, url: str, demo: Any) -> None:
    print(serve_banner(host=arguments.host, port=arguments.port, settings=settings, url=url,
                       demo=demo), flush=True)


def serve_banner(*, host: str, port: int, settings: Settings, url: str, demo: Any = None) -> str:
    """What `bookings serve` prints first: where it listens, and what it runs on."""
    everywhere = host in ("0.0.0.0", "::", "")
    shown_host = "localhost" if everywhere else (f"[{host}]" if ":" in host else host)
    endpoint = f"http://{shown_host}:{port}/graphql"
    database = (f"embedded PostgreSQL in {settings.data_dir.resolve() / 'pgdata'}"
                if settings.database_url is None else describe_url(url))
    tracing = ("off" if settings.otel_exporter.value == "none"
               else f"OpenTelemetry, {settings.otel_exporter.value} exporter")
    lines = [
        "",
        "  Bookings GraphQL server",
        f"  URL:          {endpoint}" + ("  (listening on every interface)" if everywhere else ""),
        "  GraphiQL:     " + ("open the URL in a browser" if settings.graphiql_enabled
                              else "off (BOOKINGS_GRAPHIQL)"),
        f"  Environment:  {settings.env.value}",
        f"  Database:     {database}",
        "  Worker:       " + ("in-process" if settings.run_worker
                              else "none (run `bookings worker`)"),
        f"  Tracing:      {tracing}",
    ]
    if demo is not None:
        from app.demo import DEMO_PASSWORD

        lines += ["", f"  Demo organization {demo.slug!r}; every password is {DEMO_PASSWORD!r}:"]
        lines += [f"    {login}" for login in demo.logins]
        lines += [
            "",
            (f"  GraphiQL opens as {demo.client_name or 'the demo client'} (a client) with an "
             "example query: press Run."),
            "  To act as the admin instead, put this into GraphiQL's Headers tab:",
            f'    {{"Authorization": "Bearer {demo.admin_token}"}}',
            "  The client's header, for curl and other tools:",
            f'    {{"Authorization": "Bearer {demo.client_token}"}}',
        ]
        if demo.invitation_token and not settings.is_production:
            from app.people.emails import link

            app_url = settings.app_url or endpoint.removesuffix("/graphql")
            lines += [
                "",
                f"  {demo.invited_email} is invited and has not accepted yet; their link:",
                f"    {link(app_url, 'accept-invitation', demo.invitation_token)}",
            ]
    return "\n".join(lines) + "\n"


def _worker(arguments: argparse.Namespace, settings: Settings) -> None:
    from app.jobs.queue import run_worker

    if settings.is_production and not settings.database_url:
        raise ConfigurationError("BOOKINGS_ENV=production requires DATABASE_URL to be set")
    url = _database_url(settings)
    concurrency = arguments.concurrency or settings.worker_concurrency
    print(f"Bookings worker on {describe_url(url)}, {concurrency} job(s) at a time.", flush=True)
    _run_with_database(url, lambda db: run_worker(db, settings, concurrency=concurrency,
                                                  name=arguments.name),
                       pool_size=concurrency, pgbouncer=settings.db_pgbouncer,
                       listen_url=settings.database_listen_url)


def _jobs(arguments: argparse.Namespace, settings: Settings) -> None:
    from app.jobs.queue import job_counts, recent_jobs

    async def report(db: Database) -> tuple[dict[str, int], list[Any]]:
        return await job_counts(db), await recent_jobs(db, limit=arguments.limit,
                                                       failed_only=arguments.failed)

    counts, jobs = _run_with_database(_database_url(settings), report)
    print("Jobs by status: " + (", ".join(f"{status} {count}" for status, count in counts.items())
                                or "none yet"))
    if jobs:
        print(f"{'id':>8}  {'status':<9} {'task':<28} {'tries':>5}  {'last event':<18} "
              f"{'at (UTC)':<19}  arguments")
    for job in jobs:
        when = job.last_event_at or job.scheduled_at
        at = f"{when.astimezone(UTC):%Y-%m-%d %H:%M:%S}" if when else "-"
        print(f"{job.id:>8}  {job.status:<9} {job.task_name:<28} {job.attempts:>5}  "
              f"{job.last_event or '-':<18} {at:<19}  {job.args}")


def _migrate(arguments: argparse.Namespace, settings: Settings) -> None:
    url = _database_url(settings)
    print(f"Migrated {describe_url(url)} to the latest revision.")


def _seed(arguments: argparse.Namespace, settings: Settings) -> None:
    from app.demo import DEMO_PASSWORD, seed_demo

    demo = _run_with_database(_database_url(settings), lambda db: seed_demo(db, settings))
    print(f"Demo organization {demo.slug!r} is ready; password {DEMO_PASSWORD!r} for:")
    for login in demo.logins:
        print(f"  {login}")


def _create_org(arguments: argparse.Namespace, settings: Settings) -> None:
    from app.auth import Role
    from app.organizations import service as organizations
    from app.people import service as people

    async def create(db: Database) -> None:
        async with db.transaction(None) as session:
            organization = await organizations.create(
                session, slug=arguments.slug, name=arguments.name,
                time_zone=arguments.time_zone, currency=arguments.currency,
            )
            await people.register_user(
                session, email=arguments.admin_email, first_name=arguments.admin_first_name,
                last_name=arguments.admin_last_name, phone=arguments.admin_phone,
                role=Role.ADMIN, password=arguments.admin_password,
            )
        print(f"Created organization {organization.slug!r} with admin {arguments.admin_email}.")

    _run_with_database(_database_url(settings), create)


def _token(arguments: argparse.Namespace, settings: Settings) -> None:
    from app.auth import issue_token
    from app.organizations import repository as organizations
    from app.people import repository as people

    async def token(db: Database) -> str:
        async with db.transaction(None, read_only=True) as session:
            organization = await organizations.find_by_slug(session, arguments.org)
        if organization is None:
            raise SystemExit(f"bookings: no organization {arguments.org!r}")
        async with db.transaction(organization.id, read_only=True) as session:
            user = await people.find_user_by_email(session, arguments.email)
        if user is None or not user.active:
            raise SystemExit(f"bookings: no active user {arguments.email!r} in {arguments.org!r}")
        return issue_token(
            user_id=user.id, organization_id=organization.id, role=user.role,
            session_version=user.session_version, secret=settings.signing_key(),
            lifetime=timedelta(minutes=settings.token_lifetime_minutes),
        )

    print(_run_with_database(_database_url(settings), token))


def _check_ledger(arguments: argparse.Namespace, settings: Settings) -> None:
    from app.credits.invariants import check_every_organization

    reports = _run_with_database(_database_url(settings), check_every_organization)
    for report in reports:
        verdict = "ok" if report.ok else f"{len(report.violations)} VIOLATIONS"
        print(f"{report.organization}: {report.clients} balances, {report.entries} entries, "
              f"{report.lots} lots: {verdict}")
        for violation in report.violations:
            print(f"  {violation}")
    failed = [report for report in reports if not report.ok]
    print(f"Checked {len(reports)} organizations; {len(failed)} with violations.")
    if failed:
        sys.exit(1)


def _reconcile_payments(arguments: argparse.Namespace, settings: Settings) -> None:
    from app.payments.checkout import configured_provider
    from app.payments.reconcile import reconcile

    provider = configured_provider(settings)
    lines = _run_with_database(_database_url(settings), lambda db: reconcile(db, provider))
    for line in lines:
        print(line)
    print(f"{len(lines)} overdue PENDING purchase{'s' if len(lines) != 1 else ''}"
          + ("." if provider is not None else "; set BOOKINGS_STRIPE_SECRET_KEY to settle them."))


def _export_schema(arguments: argparse.Namespace, settings: Settings) -> None:
    from app.api.schema import schema

    arguments.output.write_text(schema.as_str() + "\n")
    print(f"Wrote {arguments.output}.")


if __name__ == "__main__":
    main()

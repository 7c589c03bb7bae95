"""The ``flowpilot`` command line (Typer)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer
import uvicorn
from rich.console import Console
from rich.progress import Progress

from flowpilot.accounts import service as accounts_service
from flowpilot.analytics import report
from flowpilot.analytics.service import MAX_DAYS, MIN_DAYS
from flowpilot.kernel.db.engines import check_system_role
from flowpilot.kernel.db.uow import unit_of_work
from flowpilot.kernel.errors import DomainError
from flowpilot.kernel.identity import AccountRef
from flowpilot.kernel.settings import Settings
from flowpilot.models import Account
from flowpilot.runtime import context as ctx_mod
from flowpilot.runtime import observability
from flowpilot.runtime.app import create_app
from flowpilot.runtime.demo import DEMO_PASSWORD, create_demo
from flowpilot.runtime.http_protocol import JoinedWritesProtocol
from flowpilot.runtime.migrate import upgrade
from flowpilot.web import report_page

app = typer.Typer(help="FlowPilot: escalate, claim, hand off, measure.", no_args_is_help=True)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")

T = TypeVar("T")


def _run_in_session(fn: Callable[[Any, Any], Awaitable[T]], settings: Settings) -> T:
    """Run ``fn(session, ctx)`` in one committed unit of work on the system path.

    Operator commands work across accounts (create one, add a user to any, report on all), so
    they bypass row-level security; they scope by account themselves, as the jobs do.
    """

    async def main() -> T:
        ctx = ctx_mod.build_context(settings)
        try:
            await check_system_role(ctx.system)  # else a report would silently be empty
            async with unit_of_work(ctx.system.sessionmaker) as session:
                return await fn(session, ctx)
        finally:
            await ctx.engine.dispose()
            await ctx.system.engine.dispose()

    return asyncio.run(main())


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations."""
    settings = Settings()
    upgrade(settings.system_url, app_role=settings.db_app_role)
    typer.echo("database is up to date")


# Each serving process imports this and builds its own app and context in its lifespan: nothing
# (engine, bus, pools) is made before uvicorn starts the processes.
APP_FACTORY = f"{create_app.__module__}:{create_app.__name__}"


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="interface to bind"),
    port: int = typer.Option(8000, help="port to listen on"),
    workers: int = typer.Option(
        1, min=1, help="processes serving this port (more than 1 needs FLOWPILOT_REDIS_URL)"
    ),
    migrate: bool = typer.Option(
        True,
        "--migrate/--no-migrate",
        help="apply migrations first (--no-migrate when a one-shot `flowpilot db upgrade` does)",
    ),
) -> None:
    """Migrate the database if needed (once), then serve the web pages and API."""
    settings = Settings()
    if workers > 1 and not settings.redis_url:
        raise typer.BadParameter(
            "more than one process needs FLOWPILOT_REDIS_URL: with the in-process event bus, an "
            "escalation made through one process would never reach the live streams held by "
            "the others",
            param_hint="--workers",
        )
    if migrate:  # here, once: the serving processes never migrate
        upgrade(settings.system_url, app_role=settings.db_app_role)
        typer.echo("database is up to date")
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=settings.access_log,
        timeout_graceful_shutdown=5,
        # A process that does not answer the supervisor's ping in time is killed and restarted;
        # uvicorn's 5 s default is shorter than a cold start on a busy host (a restart loop).
        timeout_worker_healthcheck=30,
        # X-Forwarded-* are the app's to judge (FLOWPILOT_TRUSTED_PROXIES), not uvicorn's: its
        # default believes any local process.
        proxy_headers=False,
        # One socket write per answer instead of two (runtime/http_protocol.py).
        http=JoinedWritesProtocol,
    )


@app.command()
def worker(
    metrics_port: int = typer.Option(
        0, "--metrics-port", min=0, max=65535, help="serve GET /metrics on this port (0: off)"
    ),
    metrics_host: str = typer.Option("0.0.0.0", "--metrics-host", help="address for /metrics"),
) -> None:
    """Run the delivery dispatcher and event relay without serving HTTP."""
    settings = Settings()

    async def main() -> None:
        ctx = ctx_mod.build_context(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await ctx_mod.start(ctx, run_workers=True)
        server = None
        if metrics_port:
            server = metrics_server(ctx, host=metrics_host, port=metrics_port)
            ctx.tasks.append(asyncio.create_task(server.serve()))
        typer.echo(f"worker running {len(ctx.tasks)} job(s); Ctrl-C to stop")
        try:
            await stop.wait()
        finally:
            if server is not None:
                server.should_exit = True
            await ctx_mod.stop(ctx)

    asyncio.run(main())


def metrics_server(ctx: ctx_mod.AppContext, *, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server answering only ``GET /metrics`` from ``ctx``'s registry."""
    app = observability.metrics_app(ctx.metrics, ctx.settings.metrics_token)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    # The worker's own SIGINT/SIGTERM handlers stop everything, this server included.
    setattr(server, "capture_signals", contextlib.nullcontext)  # noqa: B010
    return server


@app.command("create-account")
def create_account(
    name: str = typer.Option(..., help="account (company) name"),
    admin_email: str = typer.Option(..., help="first admin's email"),
    admin_password: str = typer.Option(..., help="first admin's password (8+ characters)"),
    admin_name: str | None = typer.Option(None, help="first admin's display name"),
) -> None:
    """Create an account and its first admin; prints the account id."""

    async def run(session: Any, ctx: Any) -> str:
        account, _ = await accounts_service.create_account(
            session,
            name=name,
            admin_email=admin_email,
            admin_password=admin_password,
            admin_name=admin_name,
            now=ctx.clock.now(),
        )
        return account.id

    try:
        typer.echo(_run_in_session(run, Settings()))
    except DomainError as exc:
        _fail(exc.detail)


@app.command("create-user")
def create_user(
    account: str = typer.Option(..., help="account id"),
    email: str = typer.Option(...),
    password: str = typer.Option(..., help="8+ characters"),
    role: str = typer.Option(..., help="technician, engineer or admin"),
    name: str | None = typer.Option(None),
) -> None:
    """Add a user to an account."""

    async def run(session: Any, ctx: Any) -> str:
        if await session.get(Account, account) is None:
            raise typer.BadParameter(f"no account with id {account}", param_hint="--account")
        user = await accounts_service.create_user(
            session,
            tenant=AccountRef(account),
            email=email,
            name=name or email.split("@")[0],
            role=role,
            password=password,
            now=ctx.clock.now(),
        )
        return user.id

    try:
        typer.echo(_run_in_session(run, Settings()))
    except DomainError as exc:
        _fail(exc.detail)


@app.command()
def demo() -> None:
    """Create a demo account with users of every role and a few sessions; print how to log in."""
    result = _run_in_session(create_demo, Settings())
    if result is None:
        typer.echo("The demo account already exists.")
    else:
        typer.echo(f"Demo account created: {result}")
    typer.echo(f"Log in at {Settings().base_url}/login with password '{DEMO_PASSWORD}' as:")
    for email, role in (
        ("tech@demo.flowpilot.test", "technician"),
        ("engineer@demo.flowpilot.test", "engineer"),
        ("senior@demo.flowpilot.test", "engineer"),
        ("admin@demo.flowpilot.test", "admin"),
    ):
        typer.echo(f"  {email:32s} ({role})")


@app.command("pilot-report")
def pilot_report(
    format: str = typer.Option("table", "--format", help="table, json, csv or html"),
    days: int = typer.Option(30, "--days", help="window in days (1-365)"),
) -> None:
    """Every account's escalation metrics and hours saved per week against the 1 h/week bar."""
    if format not in report.FORMATS:
        raise typer.BadParameter(
            f"must be one of {', '.join(report.FORMATS)}", param_hint="--format"
        )
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise typer.BadParameter(f"must be between {MIN_DAYS} and {MAX_DAYS}", param_hint="--days")
    err = Console(stderr=True)
    progress = Progress(console=err, transient=err.is_terminal)
    task = progress.add_task("Measuring accounts", total=None)

    def on_account(done: int, total: int) -> None:
        # Worth drawing only when someone watches (a terminal) or it runs long (many accounts).
        if not progress.live.is_started and (sys.stderr.isatty() or total > 20):
            progress.start()
        progress.update(task, completed=done, total=total)

    async def run(session: Any, ctx: Any) -> tuple[list[Any], Any]:
        now = ctx.clock.now()
        return await report.pilot_report(session, days=days, now=now, on_account=on_account), now

    try:
        rows, now = _run_in_session(run, Settings())
    finally:
        progress.stop()
    if format == "json":
        typer.echo(report.to_json(rows, days=days, now=now))
    elif format == "csv":
        typer.echo(report.to_csv(rows), nl=False)
    elif format == "html":
        typer.echo(report_page.render(rows, days=days, now=now), nl=False)
    else:
        Console(width=None if sys.stdout.isatty() else 200).print(report.to_table(rows, days=days))
        typer.echo(report.above_bar(rows))


if __name__ == "__main__":
    app()

"""Typed settings; every value comes from a ``FLOWPILOT_`` environment variable.

Each field's description is what the README's configuration table says of it: the table is
generated from this class (``python -m flowpilot.kernel.settings``) and a test keeps them equal.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "FLOWPILOT_"


def _s(default: Any, description: str, **kw: Any) -> Any:
    return Field(default=default, description=description, **kw)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    # Storage and the system path
    database_url: str = _s(
        "sqlite+aiosqlite:///./flowpilot.db",
        "database; PostgreSQL: `postgresql+asyncpg://user@host/db`",
    )
    # Rule 2's second wall: requests run as this role (set per connection at connect time),
    # which must neither own the tables nor bypass row-level security.
    db_app_role: str = _s(
        "flowpilot_app",
        "PostgreSQL: the role requests run as, under row-level security (must not own the "
        "tables nor bypass RLS; the migrations create and grant it). In production log in as it",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
    )
    system_database_url: str | None = _s(
        None,
        "PostgreSQL: login for migrations, background jobs and CLI commands, which work across "
        "accounts: the table owner with BYPASSRLS (or a superuser). Unset: `DATABASE_URL`'s",
    )
    db_pool_size: int = _s(
        30,
        "PostgreSQL: most request connections per process, opened when needed and then kept "
        "(requests beyond it wait for one)",
        ge=1,
    )
    db_pool_timeout_seconds: float = _s(
        30.0,
        "PostgreSQL: how long a request waits for a free connection before it answers 503 "
        "with Retry-After (nothing is written)",
        gt=0,
        le=300,
    )
    redis_url: str | None = _s(
        None, "Redis Streams event bus for several replicas (unset: in-process)"
    )
    redis_prefix: str = _s("flowpilot", "prefix of every Redis key")
    redis_timeout_seconds: float = _s(
        1.0,
        "how long a publish or readiness check waits for Redis before giving up (the relay "
        "republishes what failed); answers wait for a publish 0.2 s at most either way",
        gt=0,
        le=30,
    )

    # Email and links
    smtp_url: str | None = _s(
        None, "`smtp://user:pass@host:port` or `smtps://...` for implicit TLS (unset: file mailbox)"
    )
    smtp_starttls: bool = _s(False, "upgrade a plain SMTP connection with STARTTLS")
    smtp_timeout_seconds: float = _s(10.0, "SMTP connect/send timeout")
    smtp_validate_certs: bool = _s(True, "verify the SMTP server's TLS certificate")
    smtp_cert_bundle: str | None = _s(None, "CA bundle for SMTP TLS")
    mail_from: str = _s("FlowPilot <flowpilot@localhost>", "From address")
    mailbox_dir: str = _s("./mailbox", "file mailbox folder when no SMTP is set")
    base_url: str = _s(
        "http://127.0.0.1:8000",
        "public URL (email links; an `https://` URL makes the session cookie `Secure`)",
    )
    secret_key: str = _s(
        "dev-insecure-change-me", "server secret; set a long random value in production"
    )

    # Login sessions and brute-force protection
    session_ttl_hours: int = _s(12, "login session lifetime")
    auth_cache_seconds: float = _s(
        5.0,
        "how long a process remembers a verified token (0: look it up on every request); "
        "logout, deactivation and role changes forget it at once",
        ge=0,
        le=60,
    )
    cookie_secure: bool | None = _s(
        None, "mark the session cookie `Secure` (unset: when `BASE_URL` is `https://`)"
    )
    login_max_failures: int = _s(
        10, "failed logins for one email from one client address in the window before 429", ge=1
    )
    login_max_failures_per_email: int = _s(
        30, "failed logins for one email from any address in the window before 429", ge=1
    )
    login_max_failures_per_address: int = _s(
        200,
        "failed logins from one client address for any emails in the window before 429 (at "
        "least 100: people behind one NAT must not lock each other out)",
        ge=100,
    )
    login_failure_window_seconds: int = _s(900, "window for counting failed logins")

    # Live stream
    sse_heartbeat_seconds: float = _s(25.0, "heartbeat comment interval on the live stream")
    sse_max_lifetime_seconds: float = _s(
        3600.0, "a stream is closed (client told to reconnect) after this"
    )
    sse_retry_ms: int = _s(3000, "`retry:` hint sent to browsers")
    sse_queue_size: int = _s(256, "per-subscriber queue; overflow sends `resync`")
    sse_replay_limit: int = _s(1000, "most missed events replayed before `resync`")
    bus_history: int = _s(10_000, "Redis stream length (`MAXLEN ~`)")

    access_log: bool = _s(False, "`flowpilot serve` logs one line per request (uvicorn's)")

    # Background work (dispatcher, relay, escalation chain)
    run_workers: bool = _s(
        True,
        "run the background jobs (relay, dispatcher, escalation chain, claim-target breach, "
        "idle-claim guard) inside the server; false when `flowpilot worker` runs them",
    )
    relay_interval_seconds: float = _s(5.0, "how often the relay looks for unpublished events")
    relay_grace_seconds: float = _s(
        5.0, "age before the relay republishes an event (younger ones are the normal publish's)"
    )
    dispatcher_interval_seconds: float = _s(1.0, "delivery dispatcher poll interval")
    delivery_max_attempts: int = _s(6, "attempts before a delivery is `dead`")
    delivery_backoff_base_seconds: float = _s(30.0, "first retry delay (doubles each attempt)")
    delivery_backoff_cap_seconds: float = _s(3600.0, "longest retry delay")
    delivery_backoff_jitter: float = _s(
        0.1, "fraction of random jitter taken off retry delays (no lockstep retries)"
    )
    delivery_sending_timeout_seconds: float = _s(
        300.0, "lease after which a delivery stuck in `sending` is retaken"
    )
    delivery_batch_size: int = _s(50, "deliveries leased per round")
    delivery_concurrency: int = _s(10, "webhook sends in flight per worker")
    email_batch_size: int = _s(500, "email deliveries leased per round (the email lane)")
    email_concurrency: int = _s(
        20, "SMTP connections (mails in flight) per worker, each reused for the whole round"
    )
    webhook_timeout_seconds: float = _s(10.0, "webhook request timeout")
    webhook_block_private_networks: bool = _s(
        True,
        "refuse webhook URLs that resolve to loopback, private, link-local or other internal "
        "addresses (at save and at send); `false` only for receivers on a trusted network",
    )
    escalation_chain_interval_seconds: float = _s(
        15.0, "how often re-notify / admin alerts are checked"
    )
    breach_check_interval_seconds: float = _s(
        10.0, "how often open escalations are checked against their claim target"
    )
    idle_check_interval_seconds: float = _s(
        15.0, "how often claimed escalations are checked for a holder who has not acted"
    )
    analytics_rollup_interval_seconds: float = _s(
        60.0, "how often settled escalations are added to the analytics pre-aggregate (PostgreSQL)"
    )

    # Assistant: offline retrieval by default; any OpenAI-compatible server when set
    llm_base_url: str | None = _s(
        None, "any OpenAI-compatible server, e.g. `http://127.0.0.1:11434/v1` (unset: offline)"
    )
    llm_api_key: str | None = _s(None, "bearer key for that server")
    llm_model: str = _s("gpt-4o-mini", "model name")
    llm_timeout_seconds: float = _s(30.0, "per-chunk read timeout for the model")
    # A pause between the offline assistant's streamed lines, so a person sees an answer arrive.
    assistant_pace_seconds: float = _s(
        0.04, "pause between the lines the offline assistant streams (0: all at once)", ge=0, le=1
    )

    # Behind a reverse proxy
    trusted_proxies: Annotated[list[str], NoDecode] = _s(
        [],
        "comma-separated addresses or CIDRs of the reverse proxies whose `X-Forwarded-For` and "
        "`X-Forwarded-Proto` are believed (unset: none; the connection's peer is the client)",
    )

    # Operations
    metrics_token: str | None = _s(
        None,
        "bearer token `/metrics` (and the worker's `--metrics-port`) require (unset: open to "
        "anyone who can reach them)",
    )

    # Limits
    max_body_bytes: int = _s(1_048_576, "request bodies above this answer 413")
    page_size_max: int = _s(200, "largest page size accepted")

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.replace(" ", ",").split(",") if part]
        if not isinstance(value, list):
            return value
        networks = []
        for entry in value:
            try:
                networks.append(str(ipaddress.ip_network(str(entry).strip(), strict=False)))
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or CIDR") from None
        return networks

    @property
    def secure_cookies(self) -> bool:
        """Whether the session cookie is ``Secure``: the explicit setting, else an https URL."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.base_url.lower().startswith("https://")

    @property
    def system_url(self) -> str:
        """The system path's database URL (cross-account work: migrations, jobs, CLI)."""
        return self.system_database_url or self.database_url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _shown(value: Any) -> str:
    return "unset" if value is None or value == [] else f"`{value}`"


def markdown_table() -> str:
    """The README's configuration table: every setting, its default and what it does."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        rows.append(
            f"| `{ENV_PREFIX}{name.upper()}` | {_shown(field.default)} | {field.description} |"
        )
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")

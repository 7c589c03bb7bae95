"""Typed settings; every value comes from a ``FLOWPILOT_`` environment variable."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLOWPILOT_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./flowpilot.db"
    # PostgreSQL row-level security (DESIGN rule 2's second wall). Requests run as this role
    # (set per connection at connect time; in production log in as it directly): it must not
    # own the tables nor bypass RLS. The migrations create it if missing and grant it.
    db_app_role: str = Field(default="flowpilot_app", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    # The system path (migrations, background jobs, CLI): a login that owns the tables and
    # bypasses RLS (superuser or BYPASSRLS). Unset: the same login as ``database_url``.
    system_database_url: str | None = None
    # PostgreSQL: pooled request connections per process (plus up to 20 overflow).
    db_pool_size: int = Field(default=10, ge=1, le=200)
    redis_url: str | None = None
    smtp_url: str | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0
    # TLS for SMTP: verify the server certificate (off only for lab servers), optional CA bundle.
    smtp_validate_certs: bool = True
    smtp_cert_bundle: str | None = None
    mail_from: str = "FlowPilot <flowpilot@localhost>"
    mailbox_dir: str = "./mailbox"
    secret_key: str = "dev-insecure-change-me"
    base_url: str = "http://127.0.0.1:8000"

    # Login sessions and brute-force protection
    session_ttl_hours: int = 12
    cookie_secure: bool = False
    login_max_failures: int = 10
    login_failure_window_seconds: int = 900

    # Live stream
    sse_heartbeat_seconds: float = 25.0
    sse_max_lifetime_seconds: float = 3600.0
    sse_retry_ms: int = 3000
    sse_queue_size: int = 256
    # A Last-Event-ID that missed more than this many events gets ``resync`` instead of replay.
    sse_replay_limit: int = 1000
    bus_history: int = 10_000
    # Prefix of every Redis key, so deployments or test workers can share one Redis.
    redis_prefix: str = "flowpilot"

    # Background work (dispatcher, relay, re-notify); the server runs them unless told not to
    run_workers: bool = True
    relay_interval_seconds: float = 5.0
    # The relay leaves events younger than this to the normal after-commit publish.
    relay_grace_seconds: float = 5.0
    dispatcher_interval_seconds: float = 1.0
    delivery_max_attempts: int = 6
    delivery_backoff_base_seconds: float = 30.0
    delivery_backoff_cap_seconds: float = 3600.0
    delivery_sending_timeout_seconds: float = 300.0
    # Deliveries taken per dispatcher round, sent concurrently up to this many at a time.
    delivery_batch_size: int = 50
    delivery_concurrency: int = 10
    # Random fraction (0..1) taken off a retry delay so failed sends do not retry in lockstep.
    delivery_backoff_jitter: float = 0.1
    webhook_timeout_seconds: float = 10.0
    # Multi-tenant hosting: refuse webhook URLs that resolve to loopback/private/link-local
    # addresses (an account admin must not make the server call its own network).
    webhook_block_private_networks: bool = False
    escalation_chain_interval_seconds: float = 15.0

    # Assistant: offline retrieval by default; any OpenAI-compatible server when set
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout_seconds: float = 30.0

    # Limits
    max_body_bytes: int = Field(default=1_048_576, description="request body size cap")
    page_size_max: int = 200

    @property
    def system_url(self) -> str:
        """The system path's database URL (cross-account work: migrations, jobs, CLI)."""
        return self.system_database_url or self.database_url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

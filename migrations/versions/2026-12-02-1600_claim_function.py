"""The atomic claim as one database call (PostgreSQL)

Revision ID: 0010_claim_function
Revises: 0009_analytics_rollup
Create Date: 2026-12-02 16:00:00

``fp_claim(account, handoff, claimer, now)`` does in one call what a claim request did in four
round trips (BEGIN with the account, the conditional UPDATE, the event INSERT, COMMIT): it acts
for the account (row-level security applies: the function runs as its caller, the app role),
makes the same conditional UPDATE, re-assigns the AI session and, for the single winner,
appends the ``handoff.claimed`` event under the account's log lock, its payload the handoff as
the API writes it. Called outside a transaction it is one statement that commits by itself;
inside one it is part of it. ``fp_iso(t)`` writes a time as the API does (``...T12:00:00Z``,
``.250000Z`` with a fraction). Nothing on SQLite (the app keeps its statements there).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010_claim_function"
down_revision: str | None = "0009_analytics_rollup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ISO_FUNCTION = """
CREATE FUNCTION fp_iso(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
    || CASE WHEN date_trunc('second', t) = t THEN '' ELSE to_char(t AT TIME ZONE 'UTC', '.US') END
    || 'Z'
$$
"""

# A refused caller reads the handoff as it is after its UPDATE: in READ COMMITTED every statement
# of the function takes a new snapshot, and an UPDATE that waited on the winner's row lock
# returns only once the winner committed (or rolled back), so the winner's claim is visible.
CLAIM_FUNCTION = """
CREATE FUNCTION fp_claim(p_account text, p_handoff text, p_claimer text, p_now timestamptz)
RETURNS TABLE (won boolean, status text, claimed_by_id text, claimed_by_name text,
               event_id bigint, payload json)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
  h handoffs;
  v_title text;
  v_customer text;
  v_asset text;
  v_payload json;
  v_event bigint;
  v_claimer_name text;
BEGIN
  PERFORM set_config('app.account_id', p_account, true);
  -- IS NOT DISTINCT FROM (status is never NULL) keeps the plan on the primary key with or
  -- without statistics (see the queue index, BENCHMARKS.md "Over real HTTP").
  UPDATE handoffs AS x
     SET status = 'claimed', claimed_by_id = p_claimer, claimed_at = p_now, updated_at = p_now,
         breached_at = CASE WHEN x.breached_at IS NULL AND x.claim_due_at <= p_now
                            THEN p_now ELSE x.breached_at END
   WHERE x.id = p_handoff AND x.account_id = p_account
     AND x.status IS NOT DISTINCT FROM 'open'
  RETURNING x.* INTO h;
  IF NOT FOUND THEN
    RETURN QUERY
      SELECT false, x.status::text, x.claimed_by_id::text,
             (SELECT u.name FROM users u WHERE u.id = x.claimed_by_id)::text,
             NULL::bigint, NULL::json
        FROM handoffs x WHERE x.id = p_handoff AND x.account_id = p_account;
    RETURN;
  END IF;
  UPDATE ai_sessions AS s SET assignee_id = p_claimer, updated_at = p_now
   WHERE s.id = h.session_id AND s.account_id = p_account
  RETURNING s.title, s.customer, s.asset INTO v_title, v_customer, v_asset;
  SELECT u.name INTO v_claimer_name FROM users u WHERE u.id = p_claimer;
  v_payload := json_build_object(
    'id', h.id, 'session_id', h.session_id, 'account_id', h.account_id, 'status', h.status,
    'reason', h.reason, 'urgency', h.urgency, 'escalated_by_id', h.escalated_by_id,
    'claimed_by_id', h.claimed_by_id, 'created_at', fp_iso(h.created_at),
    'claimed_at', fp_iso(h.claimed_at), 'resolved_at', fp_iso(h.resolved_at),
    'claim_due_at', fp_iso(h.claim_due_at), 'breached_at', fp_iso(h.breached_at),
    'first_action_at', fp_iso(h.first_action_at), 'assigned_at', fp_iso(h.assigned_at),
    'session_title', v_title, 'customer', v_customer, 'asset', v_asset,
    'escalated_by_name', (SELECT u.name FROM users u WHERE u.id = h.escalated_by_id),
    'claimed_by_name', v_claimer_name);
  -- The account's log lock, as every event INSERT takes it (events/repository.py): an
  -- account's event ids commit in id order.
  PERFORM pg_advisory_xact_lock(hashtext('events:' || p_account));
  INSERT INTO events (account_id, type, handoff_id, session_id, actor_id, payload, created_at)
  VALUES (p_account, 'handoff.claimed', h.id, h.session_id, p_claimer, v_payload, p_now)
  RETURNING id INTO v_event;
  RETURN QUERY SELECT true, h.status::text, h.claimed_by_id::text, v_claimer_name, v_event,
                      v_payload;
END
$$
"""


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    role = _ident(str(op.get_context().config.attributes["db_app_role"]))  # type: ignore[union-attr]
    op.execute(ISO_FUNCTION)
    op.execute(CLAIM_FUNCTION)
    op.execute(f"GRANT EXECUTE ON FUNCTION fp_claim(text, text, text, timestamptz) TO {role}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION fp_claim(text, text, text, timestamptz)")
    op.execute("DROP FUNCTION fp_iso(timestamptz)")

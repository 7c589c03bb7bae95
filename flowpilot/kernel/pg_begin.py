"""PostgreSQL (asyncpg): begin a transaction and set a transaction-local setting in ONE round trip.

SQLAlchemy's asyncpg adapter sends ``BEGIN`` lazily, as its own round trip, right before the
transaction's first statement. A request whose account is known before its transaction begins
(a remembered caller, see ``kernel.tenancy.act_for_from_start``) would then pay a second round
trip for ``set_config``. :func:`begin_with_setting` sends both as one simple-protocol query,
``BEGIN; SELECT set_config(...)``, and hands the adapter a transaction that ends with ``COMMIT``
or ``ROLLBACK`` as asyncpg's own would. Anything it does not recognise (another driver, an
isolation level, a read-only transaction, a value that is not a plain identifier) is left to
the ordinary path: the caller then runs ``set_config`` as a statement.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.util import await_

# Values folded into the query text are quoted literals; only plain identifiers qualify.
_PLAIN = re.compile(r"[A-Za-z0-9_.:-]{1,200}")


class _Begun:
    """What the adapter keeps as its open transaction (it calls ``commit`` or ``rollback``)."""

    __slots__ = ("_connection",)

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    async def commit(self) -> None:
        await self._connection.execute("COMMIT;")

    async def rollback(self) -> None:
        await self._connection.execute("ROLLBACK;")


def begin_with_setting(connection: Connection, name: str, value: str) -> bool:
    """Begin ``connection``'s database transaction with ``set_config(name, value, true)`` in the
    same round trip. False, with nothing sent, where that is not possible: run it yourself."""
    adapted: Any = connection.connection.dbapi_connection
    if (
        type(adapted).__name__ != "AsyncAdapt_asyncpg_connection"
        or getattr(adapted, "_transaction", True) is not None  # BEGIN already sent
        or getattr(adapted, "isolation_level", True) is not None
        or getattr(adapted, "readonly", True)
        or getattr(adapted, "deferrable", True)
        or not _PLAIN.fullmatch(name)
        or not _PLAIN.fullmatch(value)
    ):
        return False
    driver = adapted._connection
    if driver._top_xact is not None or driver.is_in_transaction():
        return False
    await_(_begin(adapted, driver, f"BEGIN; SELECT set_config('{name}', '{value}', true);"))
    return True


async def _begin(adapted: Any, driver: Any, query: str) -> None:
    async with adapted._execute_mutex:
        try:
            await driver.execute(query)
        except Exception as error:
            if driver.is_in_transaction():  # begun, then failed: still ended by a ROLLBACK
                adapted._transaction = _Begun(driver)
            adapted._handle_exception(error)  # raises it as SQLAlchemy's adapter would
        else:
            adapted._transaction = _Begun(driver)

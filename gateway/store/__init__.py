"""Storage: quarter-hours, daily totals, events, downsampled history, prepayment state and checkpoints.

Strategy: one small synchronous `Store` over SQLite (the embedded default) or PostgreSQL
(`postgresql://...`, psycopg 3, for a hub) with the same schema and the same SQL. The async shell calls it
through `asyncio.to_thread`; a lock serialises calls. The schema is versioned (`schema_version`);
migrations in `gateway/store/sql/` run in order at open.

Modules: `sqlite` (the one SQLite opener, `connect`, and its backend), `postgres`, `backend` (the interface
and `open_backend(url)`), `schema` (the migration runner), `energy` / `state` / `history` (the queries),
`store` (`Store`, `open_store`), `backup` (backup and restore), `outage` (`WriteOutage`); `analysis` and
`usage` read the store for the analysis and tariff reports. The quarter-hour record (JSON, CSV, row) is
`metering.record`.
"""

from gateway.store.backend import Backend, open_backend
from gateway.store.backup import restore_sqlite
from gateway.store.errors import StoreError
from gateway.store.outage import WriteOutage
from gateway.store.schema import apply_migrations, migrate, migrations
from gateway.store.store import Store, open_store

__all__ = [
    "Backend",
    "Store",
    "StoreError",
    "WriteOutage",
    "apply_migrations",
    "migrate",
    "migrations",
    "open_backend",
    "open_store",
    "restore_sqlite",
]

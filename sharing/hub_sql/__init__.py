"""The hub's schema migrations (`NNNN_name.sql`), applied in order by `gateway.store.apply_migrations`."""

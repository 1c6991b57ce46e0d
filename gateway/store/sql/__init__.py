"""Versioned schema migrations for `gateway.store`: `NNNN_name.sql`, applied in order at open.

Placeholders filled per dialect: `{id_pk}` (auto-increment primary key) and `{without_rowid}` (SQLite's
compact clustered tables). One statement per `;`-terminated chunk; each migration runs in one transaction
together with its row in `schema_version`.
"""

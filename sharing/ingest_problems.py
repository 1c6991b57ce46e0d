"""Bad rows, counted by kind with the first few named by ``file:line:column``, reported together at the
end (one :class:`InputError`), so a user fixes a whole file in one go."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from sharing.ingest_formats import Layout, field_columns
from sharing.textfile import InputError, where

EXAMPLES = 5
DERIVED = "missing quarter-hours"


@dataclass
class _Kind:
    count: int = 0
    examples: list[str] = field(default_factory=list)


@dataclass
class Problems:
    """Bad rows by kind: a count and the first :data:`EXAMPLES` ``file:line:column: message``."""

    kinds: dict[str, _Kind] = field(default_factory=dict)

    def add(self, kind: str, count: int, examples: list[str]) -> None:
        entry = self.kinds.setdefault(kind, _Kind())
        entry.count += count
        entry.examples += examples[: EXAMPLES - len(entry.examples)]

    def __bool__(self) -> bool:
        return bool(self.kinds)

    def message(self, path: Path | str) -> str:
        total = sum(k.count for k in self.kinds.values())
        lines = [f"{path}: {total} problem(s) in the data:"]
        derived = [k for k in self.kinds if k.startswith(DERIVED)]
        for kind, entry in self.kinds.items():
            if kind in derived and len(derived) < len(self.kinds):  # mostly the bad rows' own cells
                lines.append(f"  and {entry.count} {kind} (some for the rows above)")
                continue
            lines += entry.examples
            if entry.count > len(entry.examples):
                lines.append(f"  ... {entry.count} rows in all: {kind}")
        return "\n".join(lines)

    def raise_if_any(self, path: Path | str) -> None:
        if self:
            raise InputError(self.message(path))


def _column_of(row: dict[str, object], layout: Layout, index: int) -> int:
    text = str(row["text"])
    column = 1
    for part in text.split(layout.delimiter)[:index]:
        column += len(part) + 1
    return column


def report(
    problems: Problems,
    path: Path,
    layout: Layout,
    bad: pl.DataFrame,
    kind_column: str,
    field_index: dict[str, int],
    value_column: str | None = None,
) -> None:
    """Add rows of ``bad`` (with ``line``, ``text`` and a problem column) to ``problems``."""
    if "text" not in bad.columns:  # read by the fast path: the line is its fields joined again
        fields = [pl.col(c).fill_null("") for c in field_columns(len(layout.header))]
        bad = bad.with_columns(text=pl.concat_str(fields, separator=layout.delimiter))
    for (kind,), group in bad.group_by(kind_column, maintain_order=True):
        first = group.sort("line").head(EXAMPLES).to_dicts()
        examples = []
        for row in first:
            index = field_index.get(str(kind), 0)
            value = f": {str(row[value_column])[:40]!r}" if value_column and row.get(value_column) else ""
            examples.append(f"{where(path, int(row['line']), _column_of(row, layout, index))}: {kind}{value}")
        problems.add(str(kind), group.height, examples)

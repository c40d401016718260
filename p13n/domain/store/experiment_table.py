"""The experiment cells (`domain/analytics/experiment_cells.py`) as the store keeps them: one row
per experiment saying how far the log was folded and under which setting, one row per exposed
unit (its number, cohort, first exposure, cohorts seen, and its cells as float64 bytes), the
distinct keys counted and the personalizations marked shown by an engagement.

A save writes the units changed since the last one (delete, then insert, in one transaction
with the fold row), so a fold interrupted half-way leaves the last saved state whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import BigInteger, Column, Float, LargeBinary, Text, delete, select
from sqlmodel import Field, SQLModel

from p13n.domain.store.sql_store import SqlStore, driver_rows
from p13n.domain.store.sql_store import table_of as _t

__all__ = [
    "ExperimentStore",
    "ExperimentFoldRow",
    "ExperimentUnitRow",
    "ExperimentKeyRow",
    "ExperimentMarkRow",
    "ExperimentPointRow",
    "SavedUnits",
]


class ExperimentFoldRow(SQLModel, table=True):
    __tablename__ = "experiment_folds"
    experiment: str = Field(sa_column=Column(Text, primary_key=True))
    setting: str = Field(sa_column=Column(Text, nullable=False))
    folded_to: float = Field(sa_column=Column(Float, nullable=False))
    anonymous: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    identity: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    made_at: float = Field(default=0.0, sa_column=Column(Float, nullable=False))


class ExperimentUnitRow(SQLModel, table=True):
    __tablename__ = "experiment_units"
    experiment: str = Field(sa_column=Column(Text, primary_key=True))
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    unit: str = Field(sa_column=Column(Text, nullable=False))
    cohort: int = Field(sa_column=Column(BigInteger, nullable=False))
    first_ts: float = Field(sa_column=Column(Float, nullable=False))
    seen: int = Field(sa_column=Column(BigInteger, nullable=False))
    cells: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class ExperimentKeyRow(SQLModel, table=True):
    __tablename__ = "experiment_keys"
    experiment: str = Field(sa_column=Column(Text, primary_key=True))
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    slot: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    key: str = Field(sa_column=Column(Text, primary_key=True))


class ExperimentMarkRow(SQLModel, table=True):
    __tablename__ = "experiment_marks"
    experiment: str = Field(sa_column=Column(Text, primary_key=True))
    personalization_id: str = Field(sa_column=Column(Text, primary_key=True))


class ExperimentPointRow(SQLModel, table=True):
    """A metric's per-cohort statistics at a UTC day's end (`SeriesPoint` as JSON), valid
    while `basis` (the experiment's start, cohorts, window, the metric and the merged
    identities) is the current one."""

    __tablename__ = "experiment_points"
    experiment: str = Field(sa_column=Column(Text, primary_key=True))
    metric: str = Field(sa_column=Column(Text, primary_key=True))
    cutoff: float = Field(sa_column=Column(Float, primary_key=True))
    basis: str = Field(sa_column=Column(Text, nullable=False))
    point: str = Field(sa_column=Column(Text, nullable=False))


_MODELS = (
    ExperimentFoldRow,
    ExperimentUnitRow,
    ExperimentKeyRow,
    ExperimentMarkRow,
    ExperimentPointRow,
)


class SavedUnits:
    """What `ExperimentStore.load` read back: the fold row and the columns of the units."""

    def __init__(
        self,
        fold: dict[str, Any],
        ids: list[str],
        cohort: np.ndarray[Any, Any],
        first: np.ndarray[Any, Any],
        seen: np.ndarray[Any, Any],
        cells: np.ndarray[Any, Any],
        keys: set[tuple[int, int, str]],
        marks: set[str],
    ) -> None:
        self.fold, self.ids, self.cohort, self.first = fold, ids, cohort, first
        self.seen, self.cells, self.keys, self.marks = seen, cells, keys, marks


class ExperimentStore:
    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self._mark = "?" if store.db.dialect.name == "sqlite" else "%s"
        for model in _MODELS:
            _t(model).create(store.db, checkfirst=True)

    def fold_row(self, experiment: str) -> dict[str, Any] | None:
        t = _t(ExperimentFoldRow)
        with self.store.db.connect() as conn:
            found = conn.execute(select(t).where(t.c.experiment == experiment)).first()
        return dict(found._mapping) if found is not None else None

    def load(self, experiment: str, width: int) -> SavedUnits | None:
        """The saved state of `experiment` (None when nothing is saved); `width`: floats per
        unit."""
        fold = self.fold_row(experiment)
        if fold is None:
            return None
        units, keys, marks = (
            _t(ExperimentUnitRow),
            _t(ExperimentKeyRow),
            _t(ExperimentMarkRow),
        )
        cols = (units.c.unit, units.c.cohort, units.c.first_ts, units.c.seen, units.c.cells)
        stmt = select(*cols).where(units.c.experiment == experiment).order_by(units.c.idx)
        db = self.store.db
        rows = driver_rows(db, stmt)
        found_keys = driver_rows(
            db, select(keys.c.idx, keys.c.slot, keys.c.key).where(keys.c.experiment == experiment)
        )
        marked = {
            str(r[0])
            for r in driver_rows(
                db, select(marks.c.personalization_id).where(marks.c.experiment == experiment)
            )
        }
        n = len(rows)
        ids = [r[0] for r in rows]
        cohort = np.fromiter((r[1] for r in rows), dtype=np.int64, count=n)
        first = np.fromiter((r[2] for r in rows), dtype=np.float64, count=n)
        seen = np.fromiter((r[3] for r in rows), dtype=np.int64, count=n)
        blob = b"".join(bytes(r[4]) for r in rows)
        cells = (
            np.frombuffer(blob, dtype=np.float64).reshape(n, width) if n else np.zeros((0, width))
        )
        return SavedUnits(
            fold,
            ids,
            cohort,
            first,
            seen,
            cells,
            {(int(i), int(s), str(k)) for i, s, k in found_keys},
            marked,
        )

    def save(
        self,
        experiment: str,
        fold: dict[str, Any],
        units: Sequence[tuple[int, str, int, float, int, bytes]],
        *,
        replace: bool,
        keys: Iterable[tuple[int, int, str]] = (),
        marks: Iterable[str] = (),
    ) -> None:
        """Write the fold row and `units` (idx, unit, cohort, first, seen, cells) in one
        transaction: `replace` drops every saved row of the experiment first (a fold from the
        start), else only the rows of the units given are rewritten."""
        u, k, m, f = (
            _t(ExperimentUnitRow),
            _t(ExperimentKeyRow),
            _t(ExperimentMarkRow),
            _t(ExperimentFoldRow),
        )
        with self.store.transaction() as conn:
            conn.execute(delete(f).where(f.c.experiment == experiment))
            if replace:
                for table in (u, k, m):
                    conn.execute(delete(table).where(table.c.experiment == experiment))
            else:
                idx = [row[0] for row in units]
                for start in range(0, len(idx), 500):
                    chunk = idx[start : start + 500]
                    conn.execute(delete(u).where(u.c.experiment == experiment, u.c.idx.in_(chunk)))
            self._insert(conn, f, [(experiment, *_fold_values(fold))])
            self._insert(conn, u, [(experiment, *row) for row in units])
            self._insert(conn, k, [(experiment, *key) for key in keys])
            self._insert(conn, m, [(experiment, pid) for pid in marks])

    def points(self, experiment: str, metric: str, basis: str) -> dict[float, str]:
        """cutoff -> the stored point of `metric` under `basis`."""
        t = _t(ExperimentPointRow)
        stmt = select(t.c.cutoff, t.c.point).where(
            t.c.experiment == experiment, t.c.metric == metric, t.c.basis == basis
        )
        with self.store.db.connect() as conn:
            return {float(c): str(p) for c, p in conn.execute(stmt)}

    def save_points(self, experiment: str, rows: Sequence[tuple[str, float, str, str]]) -> None:
        """Store (metric, cutoff, basis, point) rows, replacing the same metric and cutoff, and
        drop the metric's points of any other basis (they can no longer be read)."""
        if not rows:
            return
        t = _t(ExperimentPointRow)
        with self.store.transaction() as conn:
            for metric, basis in {(r[0], r[2]) for r in rows}:
                conn.execute(
                    delete(t).where(
                        t.c.experiment == experiment, t.c.metric == metric, t.c.basis != basis
                    )
                )
            cutoffs: dict[str, set[float]] = {}
            for metric, cutoff, _, _ in rows:
                cutoffs.setdefault(metric, set()).add(cutoff)
            for metric, replaced in cutoffs.items():
                conn.execute(
                    delete(t).where(
                        t.c.experiment == experiment,
                        t.c.metric == metric,
                        t.c.cutoff.in_(sorted(replaced)),
                    )
                )
            self._insert(conn, t, [(experiment, m, c, b, p) for m, c, b, p in rows])

    def forget(self, experiment: str | None = None) -> None:
        """Drop the saved cells (of one experiment, or all): the next read folds from the
        start."""
        with self.store.transaction() as conn:
            for model in _MODELS:
                t = _t(model)
                stmt = (
                    delete(t)
                    if experiment is None
                    else delete(t).where(t.c.experiment == experiment)
                )
                conn.execute(stmt)

    def _insert(self, conn: Any, table: Any, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        cols = [c.name for c in table.columns]
        marks = ", ".join([self._mark] * len(cols))
        sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({marks})"  # table and column names are the code's own; every value is a bound parameter  # nosec B608
        for start in range(0, len(rows), 5000):
            conn.exec_driver_sql(sql, list(rows[start : start + 5000]))


def _fold_values(fold: dict[str, Any]) -> tuple[Any, ...]:
    return (
        str(fold["setting"]),
        float(fold["folded_to"]),
        int(fold["anonymous"]),
        int(fold["identity"]),
        float(fold["made_at"]),
    )

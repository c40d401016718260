"""A bandit experiment's stored state: its weights history (one JSON document per experiment)
and the sticky assignments it made (one row per experiment and unit).

Contracts as in `sql_store`: a missing key reads as None (an empty mapping for assignments);
times are UTC epoch seconds. An assignment is written once: a second one for the same
experiment and unit is ignored (the first cohort stays), so several processes agree.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Column, Float, Text, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, SQLModel

from p13n.domain.store.sql_store import SqlStore
from p13n.domain.store.sql_store import table_of as _t

__all__ = ["BanditStateRow", "BanditAssignmentRow", "BanditStore"]


class BanditStateRow(SQLModel, table=True):
    __tablename__ = "bandit_states"
    experiment: str = Field(primary_key=True)
    state: str = Field(sa_column=Column(Text, nullable=False))  # BanditState as JSON
    updated_at: float = Field(sa_column=Column(Float, nullable=False))


class BanditAssignmentRow(SQLModel, table=True):
    __tablename__ = "bandit_assignments"
    experiment_id: str = Field(primary_key=True)
    unit: str = Field(primary_key=True)
    cohort: str
    ts: float = Field(sa_column=Column(Float, nullable=False))


class BanditStore:
    def __init__(self, store: SqlStore) -> None:
        self.store = store
        for table in (BanditStateRow, BanditAssignmentRow):
            _t(table).create(store.db, checkfirst=True)

    def state(self, experiment: str) -> str | None:
        t = _t(BanditStateRow)
        with self.store.db.connect() as conn:
            found = conn.execute(select(t.c.state).where(t.c.experiment == experiment)).first()
        return None if found is None else str(found[0])

    def put_state(self, experiment: str, state: str, now: float) -> None:
        t = _t(BanditStateRow)
        insert = pg_insert if self.store.db.dialect.name == "postgresql" else sqlite_insert
        stmt = insert(t).values(experiment=experiment, state=state, updated_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.c.experiment], set_={"state": state, "updated_at": now}
        )
        with self.store.transaction() as conn:
            conn.execute(stmt)

    def assignments(self, experiment_id: str) -> dict[str, tuple[str, float]]:
        """unit -> (cohort, first assignment time) of one experiment."""
        t = _t(BanditAssignmentRow)
        stmt = select(t.c.unit, t.c.cohort, t.c.ts).where(t.c.experiment_id == experiment_id)
        with self.store.db.connect() as conn:
            return {r.unit: (r.cohort, float(r.ts)) for r in conn.execute(stmt)}

    def add_assignments(self, rows: Iterable[tuple[str, str, str, float]]) -> None:
        """(experiment id, unit, cohort, ts) rows; an existing (experiment, unit) is kept."""
        values = [{"experiment_id": e, "unit": u, "cohort": c, "ts": ts} for e, u, c, ts in rows]
        if not values:
            return
        t = _t(BanditAssignmentRow)
        insert = pg_insert if self.store.db.dialect.name == "postgresql" else sqlite_insert
        with self.store.transaction() as conn:
            conn.execute(insert(t).on_conflict_do_nothing(), values)

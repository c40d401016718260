"""Segment member counts as the store keeps them: one row per segment and UTC day (the day's
latest count), so that a segment's size has a trend the console can chart."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import BigInteger, Column, Float, Text, delete, select
from sqlmodel import Field, SQLModel

from p13n.domain.store.sql_store import SqlStore
from p13n.domain.store.sql_store import table_of as _t

__all__ = ["SegmentCountRow", "SegmentCountStore"]


class SegmentCountRow(SQLModel, table=True):
    __tablename__ = "segment_counts"
    segment: str = Field(sa_column=Column(Text, primary_key=True))
    day: float = Field(sa_column=Column(Float, primary_key=True))
    members: int = Field(sa_column=Column(BigInteger, nullable=False))
    profiles: int = Field(sa_column=Column(BigInteger, nullable=False))
    counted_at: float = Field(sa_column=Column(Float, nullable=False))


class SegmentCountStore:
    def __init__(self, store: SqlStore) -> None:
        self.store = store
        _t(SegmentCountRow).create(store.db, checkfirst=True)

    def save(self, day: float, counts: Mapping[str, int], profiles: int, counted_at: float) -> None:
        """Replace `day`'s counts of the segments in `counts` (0 for a segment with none)."""
        t = _t(SegmentCountRow)
        rows = [
            {"segment": s, "day": day, "members": n, "profiles": profiles, "counted_at": counted_at}
            for s, n in counts.items()
        ]
        with self.store.transaction() as conn:
            if rows:
                conn.execute(delete(t).where(t.c.day == day, t.c.segment.in_(list(counts))))
                conn.execute(t.insert(), rows)

    def history(self, since: float) -> list[tuple[str, float, int, int]]:
        """(segment, day, members, profiles) of the days from `since`, in day order."""
        t = _t(SegmentCountRow)
        stmt = (
            select(t.c.segment, t.c.day, t.c.members, t.c.profiles)
            .where(t.c.day >= since)
            .order_by(t.c.day, t.c.segment)
        )
        with self.store.db.connect() as conn:
            return [(str(s), float(d), int(m), int(p)) for s, d, m, p in conn.execute(stmt)]

    def last_counted(self) -> float | None:
        t = _t(SegmentCountRow)
        with self.store.db.connect() as conn:
            found = conn.execute(select(t.c.counted_at).order_by(t.c.counted_at.desc())).first()
        return None if found is None else float(found[0])

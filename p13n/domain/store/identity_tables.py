"""Tables of identity resolution, beside `tables.py` (source records themselves live in its
`source_records`; these hold their history, the pair links with rule and score, and splits)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Integer, Text
from sqlmodel import Field, SQLModel

__all__ = ["SourceRecordHistory", "IdentityPairLink", "IdentitySplit"]

_BIGINT = BigInteger().with_variant(Integer, "sqlite")


class SourceRecordHistory(SQLModel, table=True):
    """Every version of every source record, as received (the newest one is current)."""

    __tablename__ = "source_record_history"
    seq: int | None = Field(
        default=None, sa_column=Column(_BIGINT, primary_key=True, autoincrement=True)
    )
    record_id: str = Field(index=True)
    data: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: float = Field(sa_column=Column(Float, nullable=False))
    received_at: float = Field(sa_column=Column(Float, nullable=False))


class IdentityPairLink(SQLModel, table=True):
    """Lineage: which rule, with which score, linked a source record to another record (or to
    an event identifier 'kind:value')."""

    __tablename__ = "identity_pair_links"
    record_a: str = Field(primary_key=True)
    record_b: str = Field(primary_key=True, index=True)
    rule: str
    score: float = Field(sa_column=Column(Float, nullable=False))
    linked_at: float = Field(sa_column=Column(Float, nullable=False))


class IdentitySplit(SQLModel, table=True):
    """The split log: a record taken out of its cluster and kept apart from its members."""

    __tablename__ = "identity_splits"
    seq: int | None = Field(
        default=None, sa_column=Column(_BIGINT, primary_key=True, autoincrement=True)
    )
    record_id: str = Field(index=True)
    from_unified_id: str
    to_unified_id: str
    apart_from: str = Field(sa_column=Column(Text, nullable=False))
    reason: str | None = None
    split_at: float = Field(sa_column=Column(Float, nullable=False))

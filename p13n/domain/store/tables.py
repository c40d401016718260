"""SQLModel tables. JSON documents are stored as text written by orjson (same bytes on both databases)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, Text
from sqlmodel import Field, SQLModel

__all__ = [
    "SCHEMA_VERSION",
    "Meta",
    "EventRow",
    "ConsentRecord",
    "ConsentStateRow",
    "SourceRecord",
    "IndividualRow",
    "IdentityLink",
    "ItemRow",
    "ProfileDoc",
    "ItemGraphDoc",
    "ConfigObject",
]

SCHEMA_VERSION = 1
_BIGINT = BigInteger().with_variant(Integer, "sqlite")


class Meta(SQLModel, table=True):
    __tablename__ = "p13n_meta"
    key: str = Field(primary_key=True)
    value: str


class EventRow(SQLModel, table=True):
    """The event log: one row per accepted, tracked event. `seq` is the arrival order."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_unified_ts", "unified_id", "ts"),)
    seq: int | None = Field(
        default=None, sa_column=Column(_BIGINT, primary_key=True, autoincrement=True)
    )
    event_id: str = Field(unique=True)
    unified_id: str
    device_id: str | None = None
    individual_id: str | None = None
    session_id: str | None = None
    ts: float = Field(sa_column=Column(Float, nullable=False))
    interaction: str
    kind: str
    item_id: str | None = None
    category: str | None = None
    brand: str | None = None
    quantity: float | None = None
    price: float | None = None
    value: float | None = None
    order_id: str | None = None
    channel: str | None = None
    personalization_id: str | None = None
    payload: str = Field(sa_column=Column(Text, nullable=False))


class ConsentRecord(SQLModel, table=True):
    """Events that could not be used (no Tracking opt-in): only who, when, what consent."""

    __tablename__ = "consent_records"
    event_id: str = Field(primary_key=True)
    subject: str = Field(index=True)
    ts: float = Field(sa_column=Column(Float, nullable=False))
    interaction: str
    status: str | None = None
    provider: str | None = None


class ConsentStateRow(SQLModel, table=True):
    """Latest Tracking consent per device / individual id."""

    __tablename__ = "consent_state"
    subject: str = Field(primary_key=True)
    status: str
    provider: str | None = None
    updated_at: float = Field(sa_column=Column(Float, nullable=False))


class SourceRecord(SQLModel, table=True):
    """An input record about a person (a device seen, an identity event, an imported row)."""

    __tablename__ = "source_records"
    id: str = Field(primary_key=True)
    source: str
    source_record_id: str
    unified_id: str = Field(index=True)
    data: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: float = Field(sa_column=Column(Float, nullable=False))


class IndividualRow(SQLModel, table=True):
    __tablename__ = "individuals"
    unified_id: str = Field(primary_key=True)
    created_at: float = Field(sa_column=Column(Float, nullable=False))
    merged_into: str | None = None


class IdentityLink(SQLModel, table=True):
    __tablename__ = "identity_links"
    kind: str = Field(primary_key=True)
    value: str = Field(primary_key=True)
    unified_id: str = Field(index=True)
    linked_at: float = Field(sa_column=Column(Float, nullable=False))


class ItemRow(SQLModel, table=True):
    __tablename__ = "items"
    id: str = Field(primary_key=True)
    type: str = "Product"
    doc: str = Field(sa_column=Column(Text, nullable=False))
    placeholder: bool = False
    updated_at: float = Field(sa_column=Column(Float, nullable=False))


class ProfileDoc(SQLModel, table=True):
    __tablename__ = "profiles"
    unified_id: str = Field(primary_key=True)
    doc: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: float = Field(sa_column=Column(Float, nullable=False))


class ItemGraphDoc(SQLModel, table=True):
    __tablename__ = "item_graphs"
    item_id: str = Field(primary_key=True)
    doc: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: float = Field(sa_column=Column(Float, nullable=False))


class ConfigObject(SQLModel, table=True):
    """Configuration as data: insights, segments, later points, decisions, recommenders..."""

    __tablename__ = "config_objects"
    kind: str = Field(primary_key=True)
    name: str = Field(primary_key=True)
    doc: str = Field(sa_column=Column(Text, nullable=False))
    version: int = 1
    updated_at: float = Field(sa_column=Column(Float, nullable=False))

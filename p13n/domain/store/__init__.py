"""The fence around the relational store: only this package talks SQL."""

from p13n.domain.store.database import open_engine
from p13n.domain.store.identity_store import IdentityStore  # importing it registers its tables
from p13n.domain.store.sql_store import SqlStore

__all__ = ["SqlStore", "IdentityStore", "open_engine"]

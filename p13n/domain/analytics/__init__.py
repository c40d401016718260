"""Measure: experiment statistics, attribution and pipeline intelligence.

Pure functions over exposures, conversions and sufficient statistics that the services hand in;
nothing here reads the store or knows a face. The services keep the aggregates these read.
"""

from __future__ import annotations

__all__: list[str] = []

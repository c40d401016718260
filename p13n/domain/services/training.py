"""`p13n train`: interactions from the event log -> model, saved beside the store.

A failed training leaves the last good model serving; the saved model survives restarts.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import orjson

from p13n.domain.errors import InvalidInput
from p13n.domain.recommend import Interactions, ModelParams, TrainedModel

__all__ = ["interactions_from_log", "save_model", "load_model"]

LogRow = tuple[str, str | None, str, float, str | None]


def interactions_from_log(batches: Iterable[list[LogRow]]) -> Interactions:
    """One row per item per event; orders naming no single item count each line item."""
    users: list[str] = []
    items: list[str] = []
    acts: list[str] = []
    times: list[float] = []
    for rows in batches:
        for uid, item, act, ts, payload in rows:
            if item is not None:
                users.append(uid)
                items.append(item)
                acts.append(act)
                times.append(ts)
                continue
            if payload is None:
                continue
            for line_item in _order_items(payload):
                users.append(uid)
                items.append(line_item)
                acts.append(act)
                times.append(ts)
    return Interactions(users, items, acts, times)


def _order_items(payload: str) -> list[str]:
    try:
        raw = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return []
    order = ((raw.get("interaction") or {}).get("order") or {}) if isinstance(raw, dict) else {}
    out = []
    for line in order.get("lineItems") or []:
        if isinstance(line, dict) and line.get("catalogObjectId"):
            out.append(str(line["catalogObjectId"]))
    return out


def save_model(model: TrainedModel, folder: Path) -> Path:
    """Write atomically: a crash mid-write leaves the previous model in place."""
    folder.mkdir(parents=True, exist_ok=True)
    users = sorted(model.user_history)
    lengths = np.array([len(model.user_history[u]) for u in users], dtype=np.int64)
    flat = (
        np.concatenate([model.user_history[u] for u in users]) if users else np.zeros(0, np.int32)
    )
    timed = bool(users) and all(u in model.user_times for u in users)
    flat_times = (
        np.concatenate([model.user_times[u] for u in users]) if timed else np.zeros(0, np.float64)
    )
    signals = sorted(model.signal_counts)
    meta: dict[str, object] = {
        "item_ids": model.item_ids,
        "users": users,
        "signals": signals,
        "params": asdict(model.params),
        "trained_at": model.trained_at,
        "seconds": model.seconds,
    }
    tmp = folder / "objective.tmp.npz"
    np.savez(
        tmp,
        weights=model.weights,
        popularity=model.popularity,
        counts=model.counts,
        signal_counts=np.stack([model.signal_counts[s] for s in signals])
        if model.signal_counts
        else np.zeros((0, len(model.item_ids)), np.float32),
        lengths=lengths,
        flat=flat,
        flat_times=flat_times,
        meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
    )
    target = folder / "objective.npz"
    os.replace(tmp, target)
    return target


def load_model(folder: Path) -> TrainedModel | None:
    path = folder / "objective.npz"
    if not path.exists():
        return None
    try:
        data = np.load(path)
        meta = json.loads(bytes(data["meta"]).decode())
    except (OSError, ValueError, KeyError) as exc:
        raise InvalidInput(
            f"the saved model {path} is unreadable ({exc}).", hint="Run `p13n train` again."
        ) from None
    offsets = np.concatenate([[0], np.cumsum(data["lengths"])])
    flat = data["flat"]
    history = {
        u: flat[offsets[k] : offsets[k + 1]].astype(np.int32) for k, u in enumerate(meta["users"])
    }
    times: dict[str, np.ndarray] = {}
    if "flat_times" in data.files and len(data["flat_times"]) == len(flat):
        flat_times = data["flat_times"]
        times = {
            u: flat_times[offsets[k] : offsets[k + 1]].astype(np.float64)
            for k, u in enumerate(meta["users"])
        }
    params = meta["params"]
    for key in ("recency_half_life_days", "history_half_life_days"):
        if params.get(key) is not None and math.isnan(params[key]):
            params[key] = None
    return TrainedModel(
        item_ids=meta["item_ids"],
        weights=data["weights"],
        popularity=data["popularity"],
        counts=data["counts"],
        signal_counts={s: data["signal_counts"][k] for k, s in enumerate(meta["signals"])},
        user_history=history,
        params=ModelParams(**params),
        trained_at=meta["trained_at"],
        seconds=meta["seconds"],
        user_times=times,
    )

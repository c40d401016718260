"""`p13n export feed --format acp|merchant` on a small tenant: the Agentic Commerce Protocol
product feed and the Google Merchant supplemental feed, with popularity and return rates that
follow from the events (views, purchases, a return), on the configured store."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _database import Database

from p13n.domain.ingest import Item
from p13n.domain.services import AcpFeedRow, MerchantSupplementalRow
from p13n.server.bootstrap import build_engine

P13N = str(Path(sys.executable).with_name("p13n"))
CONSENT = [{"provider": "t", "purpose": "Tracking", "status": "Opt In"}]
ITEMS = [
    ("hot", "Best-selling boots", 120.0, "Outdoors/Footwear/Boots"),
    ("warm", "Often viewed tent", 250.0, "Outdoors/Camping/Tents"),
    ("cold", "Quiet mug", 12.0, "Home/Kitchen/Mugs"),
]


def _order(name: str, event_id: str, device: str, item: str, price: float) -> dict[str, Any]:
    line = {"catalogObjectType": "Product", "catalogObjectId": item, "quantity": 1, "price": price}
    return {
        "eventId": event_id,
        "deviceId": device,
        "dateTime": "2026-12-01T10:00:00Z",
        "interaction": {
            "name": name,
            "order": {"id": f"o-{event_id}", "currency": "USD", "lineItems": [line]},
        },
        "consents": CONSENT,
    }


def _view(event_id: str, device: str, item: str) -> dict[str, Any]:
    return {
        "eventId": event_id,
        "deviceId": device,
        "dateTime": "2026-12-01T09:00:00Z",
        "interaction": {"name": "View Catalog Object", "catalogObject": {"id": item}},
        "consents": CONSENT,
    }


@pytest.fixture
def home(tmp_path: Path, e2e_db: Database) -> Path:
    engine = build_engine(e2e_db.settings(tmp_path))
    try:
        engine.upsert_items(
            [
                Item(
                    id=i,
                    name=n,
                    price=p,
                    currency="USD",
                    category=c,
                    url=f"https://shop.test/items/{i}",
                    image_url=f"https://img.shop.test/{i}.jpg",
                )
                for i, n, p, c in ITEMS
            ]
        )
        events = [_view(f"v-warm-{k}", f"d{k}", "warm") for k in range(4)]
        events += [_view("v-hot", "d9", "hot")]
        events += [_order("Purchase", f"buy-{k}", f"d{k}", "hot", 120.0) for k in range(4)]
        events += [_order("Return", "ret-0", "d0", "hot", 120.0)]
        report = engine.ingest(events)
        assert report.rejected == 0, report
    finally:
        engine.close()
    return tmp_path


def _export(home: Path, e2e_db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    env = e2e_db.env(home)
    return subprocess.run(
        [P13N, "export", "feed", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_the_acp_feed_ranks_by_activity_and_states_the_return_rate(
    home: Path, e2e_db: Database
) -> None:
    done = _export(home, e2e_db, "--format", "acp")
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "3 rows (acp)"
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(done.stdout))}
    assert list(next(csv.reader(io.StringIO(done.stdout)))) == list(AcpFeedRow.model_fields)
    for row in rows.values():
        AcpFeedRow.model_validate({k: (v or None) for k, v in row.items()})
    hot, warm, cold = rows["hot"], rows["warm"], rows["cold"]
    # hot: 1 view + 4 sales x 10 = 41; warm: 4 views; cold: nothing
    assert float(hot["popularity_score"]) == 5.0
    assert 0 < float(warm["popularity_score"]) < 5.0
    assert float(cold["popularity_score"]) == 0.0
    assert hot["return_rate"] == "25%"  # 1 of 4 orders returned
    assert warm["return_rate"] == "" and cold["return_rate"] == ""  # never bought
    assert hot["price"] == "120.00 USD" and hot["availability"] == "in_stock"
    assert hot["product_category"] == "Outdoors > Footwear > Boots"
    assert hot["enable_search"] == "true" and hot["enable_checkout"] == "false"
    assert hot["seller_url"] == "https://shop.test" and hot["seller_name"] == "shop.test"


def test_the_merchant_supplemental_feed_has_id_and_popularity_rank(
    home: Path, e2e_db: Database, tmp_path: Path
) -> None:
    target = tmp_path / "supplemental.tsv"
    done = _export(home, e2e_db, "--format", "merchant", "--output", str(target))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    lines = target.read_text().splitlines()
    assert lines[0].split("\t") == list(MerchantSupplementalRow.model_fields)
    ranks = dict(line.split("\t") for line in lines[1:])
    assert ranks == {"cold": "0", "hot": "100", "warm": "67"}


def test_an_unknown_format_is_a_one_line_error(home: Path, e2e_db: Database) -> None:
    done = _export(home, e2e_db, "--format", "rss")
    assert done.returncode == 2
    assert "rss" in done.stderr and "acp" in done.stderr


def test_an_unwritable_output_is_a_one_line_error(home: Path, e2e_db: Database) -> None:
    done = _export(home, e2e_db, "--format", "acp", "-o", str(home / "missing" / "feed.csv"))
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: cannot write") and "Traceback" not in done.stderr

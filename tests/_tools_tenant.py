"""A small hand-built tenant for the agent-tool tests: eight items, two people, a few events.

Ava (`tools-device-1`, individual `ava-1`, ava.martin@example.com, +1 415 555 0101) likes
TrailCo outdoor gear, has bought boots and has a tent in her cart; `tools-device-2` is an
anonymous visitor who looked at mugs.
"""

from __future__ import annotations

from pathlib import Path

from p13n.domain.ingest.items import Item
from p13n.domain.recommend import ItemVectors, ModelParams
from p13n.domain.services import Engine, RecommendService
from p13n.domain.vectors import ChromaVectorIndex, MiniLMEmbedder

NOW = 1_780_000_000.0
DAY = 86_400.0
AVA_EMAIL = "ava.martin@example.com"
AVA_PHONE = "+1 415 555 0101"

CATALOG = [
    ("boot-1", "Waterproof hiking boots", "TrailCo", "Outdoors/Footwear/Boots", 120.0),
    ("boot-2", "Leather hiking boots, waterproof", "Summit", "Outdoors/Footwear/Boots", 180.0),
    ("sock-1", "Merino hiking socks", "TrailCo", "Outdoors/Footwear/Socks", 18.0),
    ("tent-1", "Two person camping tent", "TrailCo", "Outdoors/Camping/Tents", 250.0),
    ("lamp-1", "Camping lantern, rechargeable", "Summit", "Outdoors/Camping/Lights", 35.0),
    ("mug-1", "Ceramic coffee mug", "Homey", "Home/Kitchen/Mugs", 12.0),
    ("mug-2", "Stoneware tea mug with lid", "Homey", "Home/Kitchen/Mugs", 15.0),
    ("lip-1", "Matte liquid lipstick", "Glow", "Beauty/Makeup/Lips", 20.0),
]


def items() -> list[Item]:
    return [
        Item(
            id=i,
            name=n,
            brand=b,
            category=c,
            price=p,
            currency="USD",
            url=f"https://shop.example.com/items/{i}",
            image_url=f"https://shop.example.com/img/{i}.jpg",
        )
        for i, n, b, c, p in CATALOG
    ]


def _events() -> list[dict[str, object]]:
    ava = {"deviceId": "tools-device-1", "individualId": "ava-1"}
    out: list[dict[str, object]] = [
        {
            **ava,
            "interaction": "identity",
            "attributes": {"firstName": "Ava", "lastName": "Martin"},
        },
        {**ava, "interaction": "contactPointEmail", "attributes": {"email": AVA_EMAIL}},
        {**ava, "interaction": "contactPointPhone", "attributes": {"phoneNumber": AVA_PHONE}},
        {**ava, "interaction": "Purchase", "itemId": "boot-1", "price": 120.0, "orderId": "o-1"},
        {**ava, "interaction": "view", "itemId": "tent-1"},
        {**ava, "interaction": "view", "itemId": "sock-1"},
        {**ava, "interaction": "add_to_cart", "itemId": "tent-1", "price": 250.0},
        {"deviceId": "tools-device-2", "interaction": "view", "itemId": "mug-1"},
        {"deviceId": "tools-device-2", "interaction": "view", "itemId": "mug-2"},
    ]
    for k, event in enumerate(out):
        event["eventId"] = f"tools-{k}"
        event["dateTime"] = NOW - DAY * 2 + k * 60
    return out


def build(
    database_url: str, home: Path, embedder: MiniLMEmbedder | None
) -> tuple[Engine, RecommendService]:
    """The engine and recommendation service over a fresh store (vectors only with `embedder`)."""
    engine = Engine.open(database_url, clock=lambda: NOW)
    vectors = (
        ItemVectors(ChromaVectorIndex(home / "vectors"), embedder) if embedder is not None else None
    )
    service = RecommendService(
        engine, vectors=vectors, model_dir=home / "models", params=ModelParams(l2=1.0)
    )
    engine.upsert_items(items())
    report = engine.ingest(_events())
    assert report.rejected == 0, report
    return engine, service

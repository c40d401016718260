"""Child of test_ingest_survives_sigkill: ingest from 4 threads until killed, printing each
event id once `Engine.ingest` has returned it as accepted (what a 2xx promises)."""

from __future__ import annotations

import sys
import threading

import orjson

from p13n.domain.services import Engine, EngineOptions


def main(url: str, write_behind_s: float) -> None:
    engine = Engine.open(url, EngineOptions(write_behind_s=write_behind_s))
    out = threading.Lock()

    def client(n: int) -> None:
        batch = 0
        while True:
            batch += 1
            events = [
                {
                    "eventId": f"k{n}-{batch}-{k}",
                    "individualId": f"person-{(n * 7 + batch + k) % 25}",
                    "interaction": "View Catalog Object" if k % 3 else "Add To Cart",
                    "itemId": f"item-{(batch + k) % 40}",
                    "quantity": 1,
                    "price": 5.0,
                    "dateTime": "2026-12-01T10:00:00Z",
                }
                for k in range(1 + (batch % 20))
            ]
            report = engine.ingest(events)
            accepted = [r.eventId for r in report.results if r.status == "accepted"]
            with out:
                sys.stdout.write(orjson.dumps(accepted).decode() + "\n")
                sys.stdout.flush()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))

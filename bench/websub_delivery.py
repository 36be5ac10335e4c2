"""Benchmark: the WebSub hub's latency and throughput, on a SQLite ledger, with the hub's
threads started as ``feedpub worker`` starts them and subscribers on a local HTTP server.

Run: ``.venv/bin/python -m bench.websub_delivery``. Prints:

- latency: the time from a source's change being stored (the refresh's transaction
  committed) to its subscriber having the new feed, p50 and p99 over 100 changes: stored by
  the worker's own refresh (which wakes the watcher), and by another process (found by
  polling, at the default ``poll_seconds`` of 1.0 and at 0.1);
- throughput: the deliveries a second of one change to 1,000 subscribers (the time from the
  change stored to the last delivery received), beside the floor: the same 1,000 POSTs of the
  same body sent by the same HTTP client with as many threads and no hub (no ledger, no
  claims), which is what the hub's bookkeeping is measured against.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from feeds.ledger import hub as records
from feeds.ledger.store import Ledger
from feeds.refresh.hub import HubWorker
from server import start_hub
from tests.refresh_kit import open_ledger
from tests.websub_kit import BASE, Subscriber, entry, hub_config, store, subscriber

TOPIC = f"{BASE}/feeds/office.atom"


def settings(poll_seconds: float, threads: int = 16) -> str:
    return (
        "[websub]\nallow_private_callbacks = true\n"
        f"poll_seconds = {poll_seconds}\ndelivery_threads = {threads}\n"
        "max_subscriptions_per_host = 100000\n"
    )


def subscribe(ledger: Ledger, callback: Subscriber, count: int) -> None:
    """``count`` verified subscriptions to ``TOPIC`` (as the worker makes them)."""
    now = time.time()
    with ledger.transaction() as transaction:
        for n in range(count):
            request = records.HubRequest(
                mode=records.SUBSCRIBE, topic=TOPIC, callback=callback.url(f"/s{n}"),
                callback_host="127.0.0.1", lease_seconds=3600,
            )  # fmt: skip
            records.add_request(transaction.connection, request, now)
        claimed = records.claim_requests(
            transaction.connection, "bench", now, 60, count, baseline_wait=0
        )
        for request in claimed:
            records.finish_request(transaction.connection, request, "bench", verified=True, now=now)


def change(ledger: Ledger, n: int) -> None:
    """A change every feed of the source shows: its newest item's title corrected."""
    store(ledger, "office", entry(1), entry(19, title=f"Newest, edition {n}"))


def latencies(folder: Path, poll_seconds: float, changes: int, *, woken: bool) -> list[float]:
    config = hub_config(folder, settings(poll_seconds))
    ledger = open_ledger(f"sqlite:///{tempfile.mkdtemp(dir=folder)}/ledger.db")
    store(ledger, "office", entry(1), entry(2))
    seconds = []
    phases = random.Random(11)
    with subscriber() as callback:
        subscribe(ledger, callback, 1)
        hub = start_hub(config, ledger)
        try:
            time.sleep(3 * poll_seconds + 0.5)  # the topic's first content is known
            for n in range(changes):
                before = len(callback.of("POST"))
                started = time.perf_counter()
                change(ledger, n)
                if woken:  # as the worker's refresher does once it has stored a page
                    hub.watcher.wake()
                callback.wait_for("POST", before + 1, timeout=30)
                seconds.append(time.perf_counter() - started)
                time.sleep(phases.uniform(0.01, poll_seconds))  # at every phase of the poll
        finally:
            hub.stop()
            ledger.close()
    return seconds


def throughput(folder: Path, subscribers: int, threads: int) -> tuple[float, float]:
    """Deliveries a second through the hub, and of the floor."""
    config = hub_config(folder, settings(0.1, threads))
    ledger = open_ledger(f"sqlite:///{tempfile.mkdtemp(dir=folder)}/ledger.db")
    store(ledger, "office", entry(1), entry(2))
    with subscriber() as callback:
        subscribe(ledger, callback, subscribers)
        hub = start_hub(config, ledger)
        try:
            time.sleep(1.0)
            started = time.perf_counter()
            change(ledger, 0)
            callback.wait_for("POST", subscribers, timeout=300)
            hub_rate = subscribers / (time.perf_counter() - started)
            body = callback.of("POST")[0].body
        finally:
            hub.stop()
            ledger.close()
        worker = HubWorker(ledger, config.websub)  # its client, on the guarded transport
        try:
            headers = [("Content-Type", "application/atom+xml; charset=utf-8")]
            with ThreadPoolExecutor(threads) as pool:
                started = time.perf_counter()
                list(pool.map(
                    lambda n: worker.call("POST", callback.url(f"/f{n}"), content=body,
                                          headers=headers),
                    range(subscribers),
                ))  # fmt: skip
                floor_rate = subscribers / (time.perf_counter() - started)
        finally:
            worker.close()
    return hub_rate, floor_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--subscribers", type=int, default=1000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print("latency: source change stored -> subscriber has the feed")
        print(f"{'stored by':<28} {'poll_seconds':>12} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for woken, poll in ((True, 1.0), (False, 1.0), (False, 0.1)):
            seconds = sorted(latencies(Path(folder), poll, arguments.changes, woken=woken))
            p50 = statistics.median(seconds)
            p99 = seconds[min(len(seconds) - 1, round(0.99 * (len(seconds) - 1)))]
            who = "this worker's refresh" if woken else "another process (polled)"
            print(
                f"{who:<28} {poll:>12} {p50 * 1000:>8.0f} {p99 * 1000:>8.0f} "
                f"{seconds[-1] * 1000:>8.0f}"
            )
        print(f"\nthroughput: one change to {arguments.subscribers} subscribers")
        print(f"{'threads':>8} {'hub/s':>8} {'floor/s':>8} {'ratio':>6}")
        for threads in (4, 16):
            runs = [throughput(Path(folder), arguments.subscribers, threads) for _ in range(3)]
            hub_rate = statistics.median(r[0] for r in runs)
            floor_rate = statistics.median(r[1] for r in runs)
            print(f"{threads:>8} {hub_rate:>8.0f} {floor_rate:>8.0f} {hub_rate / floor_rate:>6.2f}")


if __name__ == "__main__":
    main()

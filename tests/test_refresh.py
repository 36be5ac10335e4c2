"""Refreshing sources into the ledger: against a real SQLite file and a real HTTP server on
127.0.0.1 whose pages change between refreshes."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from feeds.ledger.store import Ledger
from feeds.model import UTC
from feeds.refresh.outcomes import Status
from feeds.refresh.refresher import Refresher
from tests.http_server import LocalServer, Route
from tests.refresh_kit import (
    Clock,
    CountingAdapter,
    dump,
    item,
    make_refresher,
    make_source,
    page,
    titles,
)

A = item("Alpha report launched", 20, "The alpha report is out.", "Press release")
B = item("Beta workshop held", 18, "Workshop on beta.")
C = item("Gamma statement", 18, "")
NEW = item("Delta agreement signed", 21, "A new agreement.")


def test_a_new_item_appears_once(
    server: LocalServer, refresher: Refresher, ledger: Ledger, clock: Clock
) -> None:
    source = make_source(server)
    server.routes["/news"] = page(A, B, C)
    first = refresher.refresh(source)
    assert first.status == Status.UPDATED
    assert (first.merge.new, first.merge.total) == (3, 3)
    server.routes["/news"] = page(NEW, A, B, C)
    clock.advance(hours=1)
    second = refresher.refresh(source)
    assert (second.merge.new, second.merge.updated, second.merge.total) == (1, 0, 4)
    clock.advance(hours=1)
    assert refresher.refresh(source).status == Status.UNCHANGED
    assert titles(ledger) == [NEW.title, A.title, B.title, C.title]
    assert ledger.version() == 2  # one content change per refresh that changed something
    new_entry = ledger.entries()[0]
    assert new_entry.first_seen == dt.datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert new_entry.entry.published == dt.datetime(
        2026, 11, 20, 23, 0, tzinfo=UTC
    )  # 21 Nov, Geneva


def test_an_edited_summary_keeps_the_id_and_moves_updated(
    server: LocalServer, refresher: Refresher, ledger: Ledger, clock: Clock
) -> None:
    source = make_source(server)
    server.routes["/news"] = page(A, B)
    refresher.refresh(source)
    before = {s.entry.title: s for s in ledger.entries()}
    edited = item(
        A.title, 20, "The alpha report is out, with a summary for each region.", "Press release"
    )
    server.routes["/news"] = page(edited, B)
    clock.advance(hours=2)
    outcome = refresher.refresh(source)
    assert (outcome.merge.new, outcome.merge.updated) == (0, 1)
    after = {s.entry.title: s for s in ledger.entries()}
    assert after[A.title].entry.id == before[A.title].entry.id
    assert after[A.title].entry.summary == edited.summary
    assert after[A.title].entry.published == before[A.title].entry.published
    assert after[A.title].updated == clock.now
    assert after[A.title].updated > before[A.title].updated
    assert after[B.title] == before[B.title]


def test_a_change_of_case_in_the_title_keeps_the_id(
    server: LocalServer, refresher: Refresher, ledger: Ledger, clock: Clock
) -> None:
    source = make_source(server)
    server.routes["/news"] = page(A)
    refresher.refresh(source)
    server.routes["/news"] = page(item(A.title.upper(), 20, A.summary, "Press release"))
    clock.advance(hours=1)
    assert refresher.refresh(source).merge.updated == 1
    assert titles(ledger) == [A.title.upper()]


def test_a_vanished_item_stays_published(
    server: LocalServer, refresher: Refresher, ledger: Ledger, clock: Clock
) -> None:
    source = make_source(server)
    server.routes["/news"] = page(A, B, C)
    refresher.refresh(source)
    server.routes["/news"] = page(NEW, A)
    clock.advance(hours=1)
    outcome = refresher.refresh(source)
    assert outcome.merge.total == 4
    assert titles(ledger) == [NEW.title, A.title, B.title, C.title]


def test_a_304_skips_parsing(server: LocalServer, ledger: Ledger, clock: Clock) -> None:
    adapter = CountingAdapter()
    refresher = make_refresher(ledger, clock, adapter)
    source = make_source(server)
    server.routes["/news"] = Route(page(A, B).body, etag='"v1"')
    assert refresher.refresh(source).status == Status.UPDATED
    clock.advance(hours=1)
    outcome = refresher.refresh(source)
    assert outcome.status == Status.NOT_MODIFIED
    assert outcome.merge.total == 2
    assert adapter.calls == 1
    assert server.requests[-1][2]["If-None-Match"] == '"v1"'
    assert ledger.state(source.id).last_success_at == clock.now
    refresher.fetcher.close()


def test_the_same_bytes_again_skip_parsing(
    server: LocalServer, ledger: Ledger, clock: Clock
) -> None:
    adapter = CountingAdapter()
    refresher = make_refresher(ledger, clock, adapter)
    source = make_source(server)
    server.routes["/news"] = page(A, B)
    refresher.refresh(source)
    assert refresher.refresh(source).status == Status.UNCHANGED
    assert adapter.calls == 1
    refresher.fetcher.close()


def test_ten_refreshes_of_an_unchanged_listing_change_nothing(
    server: LocalServer, refresher: Refresher, ledger: Ledger, clock: Clock
) -> None:
    source = make_source(server)
    undated = item(
        "Open day at the training centre", None, "Visitors can try the workshops.", "Event"
    )
    server.routes["/news"] = page(A, undated, B)
    refresher.refresh(source)
    before = dump(ledger)
    for n in range(10):
        # the bytes differ every time (a timestamp in the page), the items do not
        body = page(A, undated, B).body.replace(b"</body>", f"<!-- built {n} --></body>".encode())
        server.routes["/news"] = Route(body)
        clock.advance(minutes=61)
        assert refresher.refresh(source).status == Status.UPDATED
    assert dump(ledger) == before


def test_new_undated_items_keep_the_page_order(
    server: LocalServer, refresher: Refresher, ledger: Ledger, clock: Clock
) -> None:
    source = make_source(server)
    first, second = (
        item("First undated event", None, "One.", "Event"),
        item("Second undated event", None, "Two.", "Event"),
    )
    server.routes["/news"] = page(first, second, A)
    refresher.refresh(source)
    stored = {s.entry.title: s.entry.published for s in ledger.entries()}
    assert stored[first.title] == clock.now
    assert stored[second.title] == clock.now - dt.timedelta(seconds=1)
    assert titles(ledger) == [first.title, second.title, A.title]


def test_entries_of_all_sources_get_distinct_instants(
    server: LocalServer, refresher: Refresher, ledger: Ledger
) -> None:
    one = make_source(server, "/one", id="one", public_url="https://www.example.org/one/lang--en/")
    two = make_source(server, "/two", id="two", public_url="https://www.example.org/two/lang--en/")
    server.routes["/one"] = page(A, B, C)
    server.routes["/two"] = page(item("Other office news", 18, "Elsewhere."), A)
    refresher.refresh(one)
    refresher.refresh(two)
    instants = [s.entry.published for s in ledger.entries()]
    assert len(instants) == 5
    assert len(set(instants)) == 5


def test_many_sources_listing_the_same_day_get_distinct_instants_in_page_order(
    server: LocalServer, refresher: Refresher, ledger: Ledger
) -> None:
    for n in range(12):
        path = f"/office-{n}"
        server.routes[path] = page(
            *(item(f"Office {n} story {k}", 20, f"Story {k}.") for k in range(4))
        )
        refresher.refresh(
            make_source(
                server, path, id=f"office-{n}", public_url=f"https://www.example.org/{n}/lang--en/"
            )
        )
    stored = ledger.entries()
    instants = [s.entry.published for s in stored]
    assert len(instants) == 48
    assert len(set(instants)) == 48
    for n in range(12):
        own = [s.entry.title for s in stored if s.entry.source_id == f"office-{n}"]
        assert own == [f"Office {n} story {k}" for k in range(4)]  # page order within each source
    day_start = dt.datetime(2026, 11, 19, 23, 0, tzinfo=UTC)
    assert min(instants) == day_start
    assert max(instants) == day_start + dt.timedelta(seconds=47)  # packed, no gaps


def test_a_future_listing_date_is_published_when_first_seen(
    server: LocalServer, refresher: Refresher, ledger: Ledger, clock: Clock
) -> None:
    source = make_source(server)
    upcoming = item("Conference next week", 29, "An upcoming event.", "Event")
    server.routes["/news"] = page(upcoming, A)
    refresher.refresh(source)
    stored = ledger.entries()[0]
    assert stored.entry.date == dt.date(2026, 11, 29)
    assert stored.entry.published == clock.now


@pytest.mark.parametrize(
    ("route", "error"),
    [
        (Route(b"Internal error", status=500), "HTTP 500 Internal Server Error"),
        (Route(b"late", delay=1.5), "timed out"),
        (Route(b"x" * 100_000, trickle=0.05), "too slow"),
        (Route(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50), "binary data"),
        (Route(b"<p>" + b"x" * (6 * 1024 * 1024) + b"</p>"), "byte limit"),
        (Route(b"", status=404), "HTTP 404 Not Found"),
    ],
    ids=["500", "timeout", "slow", "garbage", "huge", "404"],
)
def test_a_failing_fetch_keeps_the_last_good_entries_and_records_the_error(
    server: LocalServer,
    refresher: Refresher,
    ledger: Ledger,
    clock: Clock,
    route: Route,
    error: str,
) -> None:
    source = make_source(server)
    server.routes["/news"] = page(A, B, C)
    refresher.refresh(source)
    before = dump(ledger)
    server.routes["/news"] = route
    clock.advance(hours=1)
    outcome = refresher.refresh(source)
    assert outcome.status == Status.FAILED
    assert outcome.error is not None
    assert error in outcome.error
    assert dump(ledger) == before
    state = ledger.state(source.id)
    assert state.consecutive_failures == 1
    assert state.last_error == outcome.error
    assert state.last_error_at == clock.now
    assert state.last_success_at == clock.now - dt.timedelta(hours=1)
    assert state.next_attempt_at is not None
    assert state.next_attempt_at > clock.now


def test_a_page_whose_layout_changed_keeps_the_last_good_entries_and_is_suspect(
    server: LocalServer, refresher: Refresher, ledger: Ledger, clock: Clock
) -> None:
    source = make_source(server)
    server.routes["/news"] = page(A, B, C)
    refresher.refresh(source)
    before = dump(ledger)
    server.routes["/news"] = Route(
        b"<html><body><h1>News</h1><div class='cards'><p>Alpha</p></div></body></html>"
    )
    clock.advance(hours=1)
    outcome = refresher.refresh(source)
    assert outcome.status == Status.SUSPECT
    assert dump(ledger) == before
    state = ledger.state(source.id)
    assert state.suspect_reason is not None
    assert "does not look like a news listing" in state.suspect_reason
    assert "it had 3 entries" in state.suspect_reason
    # the next good fetch clears the flag
    server.routes["/news"] = page(A, B, C)
    clock.advance(hours=1)
    assert refresher.refresh(source).status == Status.UPDATED
    assert ledger.state(source.id).suspect_reason is None


def test_items_without_dates_where_it_had_dates_make_a_source_suspect(
    server: LocalServer, refresher: Refresher, ledger: Ledger, clock: Clock
) -> None:
    source = make_source(server)
    server.routes["/news"] = page(A, B, C)
    refresher.refresh(source)
    server.routes["/news"] = page(*(item(t, None, "Now undated.") for t in ("One", "Two", "Three")))
    clock.advance(hours=1)
    outcome = refresher.refresh(source)
    assert outcome.status == Status.SUSPECT
    assert titles(ledger) == [A.title, B.title, C.title]


def test_most_ids_changing_at_once_is_suspect_until_accepted(
    server: LocalServer, refresher: Refresher, ledger: Ledger, clock: Clock
) -> None:
    source = make_source(server)
    old = [item(f"Old story number {n}", 10 + n, f"Old {n}.") for n in range(6)]
    new = [item(f"Renamed story number {n}", 10 + n, f"New {n}.") for n in range(6)]
    server.routes["/news"] = page(*old)
    refresher.refresh(source)
    server.routes["/news"] = page(*new)
    clock.advance(hours=1)
    outcome = refresher.refresh(source)
    assert outcome.status == Status.SUSPECT
    assert outcome.error == (
        "6 of the 6 entries are new at once (has the layout or the wording of every item changed?)"
    )
    assert ledger.live_count(source.id) == 6
    accepted = refresher.refresh(source, accept_changes=True)
    assert (accepted.status, accepted.merge.new, accepted.merge.total) == (Status.UPDATED, 6, 12)


def test_a_first_fetch_of_a_page_that_is_no_listing_fails(
    server: LocalServer, refresher: Refresher, ledger: Ledger
) -> None:
    source = make_source(server)
    server.routes["/news"] = Route(b"<html><body><ol><li>A policy point</li></ol></body></html>")
    outcome = refresher.refresh(source)
    assert outcome.status == Status.FAILED
    assert outcome.error is not None
    assert "does not look like a news listing" in outcome.error
    assert ledger.entries() == []


def test_failures_back_off_exponentially_and_honour_retry_after(
    server: LocalServer, refresher: Refresher, ledger: Ledger, clock: Clock
) -> None:
    source = make_source(server)
    server.routes["/news"] = Route(b"down", status=500)
    waits = []
    for _ in range(4):
        refresher.refresh(source)
        state = ledger.state(source.id)
        assert state.next_attempt_at is not None
        waits.append((state.next_attempt_at - clock.now) / dt.timedelta(hours=1))
        assert not refresher.is_due(source)
        clock.now = state.next_attempt_at
        assert refresher.is_due(source)
    for n, wait in enumerate(waits):
        assert 0.75 * 2**n <= wait <= 1.25 * 2**n
    assert ledger.state(source.id).consecutive_failures == 4
    server.routes["/news"] = Route(b"busy", status=503, headers={"Retry-After": "36000"})
    refresher.refresh(source)
    state = ledger.state(source.id)
    assert state.next_attempt_at is not None
    assert state.next_attempt_at - clock.now >= dt.timedelta(hours=10)
    assert state.last_error is not None
    assert "HTTP 503" in state.last_error


def test_backoff_is_capped(ledger: Ledger, clock: Clock, server: LocalServer) -> None:
    refresher = make_refresher(ledger, clock)
    source = make_source(server, refresh_minutes=600)
    assert refresher.backoff(source, 30, None) <= dt.timedelta(hours=30)
    refresher.fetcher.close()


def test_retention_removes_old_entries_off_the_page_and_they_never_come_back(
    server: LocalServer, refresher: Refresher, ledger: Ledger, clock: Clock
) -> None:
    source = make_source(server, keep_at_least=2, max_age_days=30)
    old = [item(f"Old item {n}", n + 1, f"Old {n}.") for n in range(4)]
    server.routes["/news"] = page(*reversed(old))
    refresher.refresh(source)
    assert ledger.live_count(source.id) == 4
    server.routes["/news"] = page(A, B)  # the old items left the page
    clock.advance(days=40)
    outcome = refresher.refresh(source)
    # the newest two (A and B) are kept anyway; the four old ones are past 30 days
    assert outcome.merge.removed == 4
    assert titles(ledger) == [A.title, B.title]
    server.routes["/news"] = page(A, B, *reversed(old))  # they show up again
    clock.advance(hours=1)
    again = refresher.refresh(source)
    assert (again.merge.new, again.merge.total) == (0, 2)
    assert titles(ledger) == [A.title, B.title]


def test_pagination_follows_next_pages_up_to_the_limit(
    server: LocalServer, refresher: Refresher, ledger: Ledger
) -> None:
    first = page(A, B).body.replace(b"</body>", b"<a rel='next' href='/news/2'>Next</a></body>")
    second = page(B, C).body.replace(b"</body>", b"<a rel='next' href='/news/3'>Next</a></body>")
    server.routes["/news"] = Route(first)
    server.routes["/news/2"] = Route(second)
    server.routes["/news/3"] = page(item("Too far back", 1, "Not read."))
    outcome = refresher.refresh(make_source(server, page_limit=2, public_url=""))
    assert outcome.merge.total == 3
    assert titles(ledger) == [A.title, B.title, C.title]  # B listed on both pages: once
    published = {s.entry.title: s.entry.published for s in ledger.entries()}
    assert published[B.title] > published[C.title]  # same day, across pages: page order
    assert [r[1] for r in server.requests] == ["/news", "/news/2"]


def test_an_interrupted_refresh_leaves_no_partial_state(
    server: LocalServer,
    refresher: Refresher,
    ledger: Ledger,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = make_source(server)
    server.routes["/news"] = page(A, B)
    refresher.refresh(source)
    before, state_before = dump(ledger), ledger.state(source.id)
    server.routes["/news"] = page(NEW, item(A.title, 20, "Edited.", "Press release"), B)
    clock.advance(hours=1)

    from feeds.ledger.store import LedgerTransaction

    def interrupted(self: LedgerTransaction, state: object) -> None:
        raise KeyboardInterrupt  # Ctrl-C after the entries were merged, before the state

    monkeypatch.setattr(LedgerTransaction, "save_state", interrupted)
    with pytest.raises(KeyboardInterrupt):
        refresher.refresh(source)
    monkeypatch.undo()
    assert dump(ledger) == before
    assert ledger.state(source.id) == state_before
    assert refresher.refresh(source).merge.new == 1


def test_the_interval_runs_from_when_the_request_was_sent_after_its_turn_at_the_host(
    server: LocalServer, ledger: Ledger, clock: Clock, refresher: Refresher
) -> None:
    """A request that waited for its host (another request of this process was on its way)
    starts the source's interval when it was sent: the source never sees two of our requests
    closer than the interval."""
    source = make_source(server)
    server.routes["/news"] = page(A, B)
    host = "127.0.0.1"
    busy = threading.Event()

    def another_request_to_the_host() -> None:
        with refresher.fetcher.gate.hold(host):
            busy.set()
            time.sleep(1.5)

    other = threading.Thread(target=another_request_to_the_host)
    other.start()
    busy.wait()
    assert refresher.refresh(source).status == Status.UPDATED
    other.join()
    state = ledger.state(source.id)
    assert state.last_fetch_at is not None
    assert state.next_attempt_at is not None
    assert clock.now + dt.timedelta(seconds=1) <= state.last_fetch_at  # stored to the second
    assert state.next_attempt_at - state.last_fetch_at == source.refresh_interval


def test_a_retry_after_longer_than_the_longest_backoff_waits_the_longest_backoff(
    server: LocalServer, refresher: Refresher, ledger: Ledger, clock: Clock
) -> None:
    source = make_source(server)
    server.routes["/news"] = Route(b"busy", status=429, headers={"Retry-After": "999999999"})
    refresher.refresh(source)
    state = ledger.state(source.id)
    assert state.next_attempt_at == clock.now + refresher.max_backoff


def test_a_refresh_that_stored_a_page_says_so_and_others_do_not(
    server: LocalServer, refresher: Refresher, clock: Clock
) -> None:
    told: list[str] = []
    refresher.stored = lambda outcome: told.append(f"{outcome.source_id} {outcome.status}")
    source = make_source(server)
    server.routes["/news"] = page(A, B)
    refresher.refresh(source)
    assert told == ["office updated"]  # what watches for changes looks at once
    clock.advance(hours=1)
    refresher.refresh(source)  # the same bytes: nothing stored
    server.routes["/news"] = page()  # no items: held back as suspect
    clock.advance(hours=1)
    assert refresher.refresh(source).status == Status.SUSPECT
    assert told == ["office updated"]

"""Golden pairs for the ILO adapter: each page in ``tests/data/ilo/`` in text and HTML form,
beside the entries it must give (``<case>.json``).

Both forms must give the expected entries, with the same ids and instants; the HTML form also
gives each item its own link. Ids and instants are pinned in the JSON so that a change to
identity or dates shows up here; ``pytest --update-golden`` rewrites them after a deliberate
change (review the diff).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from feeds.model import ParseResult, entry_record
from sources import ilo
from tests.conftest import DATA, make_context

CASES = sorted(path.stem for path in (DATA / "ilo").glob("*.json"))
FORM_SPECIFIC_CODES = {"skipped-line"}  # a text rendition has lines, HTML has markup
CONTENT_FIELDS = ("title", "date", "labels", "credit", "summary", "group")


def _load(case: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "ilo" / f"{case}.json").read_text("utf-8"))
    return data


def _parse(case: str, form: ilo.Form, expected: dict[str, Any]) -> ParseResult:
    context = make_context(**expected["context"])
    document = (DATA / "ilo" / f"{case}.{'txt' if form == 'text' else 'html'}").read_text("utf-8")
    assert ilo.detect_form(document) == form
    return ilo.parse(document, context)


def _codes(result: ParseResult) -> list[str]:
    return sorted({d.code for d in result.diagnostics} - FORM_SPECIFIC_CODES)


def test_there_is_a_golden_pair_for_every_case() -> None:
    assert len(CASES) >= 15
    for case in CASES:
        for suffix in (".txt", ".html"):
            assert (DATA / "ilo" / f"{case}{suffix}").is_file(), f"{case}{suffix} is missing"


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("form", ["text", "html"])
def test_golden_pair(case: str, form: ilo.Form, request: pytest.FixtureRequest) -> None:
    expected = _load(case)
    result = _parse(case, form, expected)
    got = [entry_record(entry) for entry in result.entries]
    want = expected["entries"]
    assert [{k: e[k] for k in CONTENT_FIELDS} for e in got] == [
        {k: e[k] for k in CONTENT_FIELDS} for e in want
    ]
    page_url = expected["context"]["page_url"]
    links = [e["link"] for e in want] if form == "html" else [page_url] * len(want)
    assert [e["link"] for e in got] == links
    assert _codes(result) == expected["diagnostics"]
    assert result.is_listing == bool(want)

    if request.config.getoption("--update-golden") and form == "text":
        for record, pinned in zip(got, want, strict=True):
            pinned["id"], pinned["published"] = record["id"], record["published"]
        path = DATA / "ilo" / f"{case}.json"
        path.write_text(json.dumps(expected, ensure_ascii=False, indent=2) + "\n", "utf-8")
        return
    assert all("id" in e for e in want), "ids not pinned yet: run pytest --update-golden"
    assert [(e["id"], e["published"]) for e in got] == [(e["id"], e["published"]) for e in want]


def test_golden_ids_are_unique_within_each_page() -> None:
    for case in CASES:
        ids = [e.get("id") for e in _load(case)["entries"]]
        assert len(set(ids)) == len(ids), case


def test_skipped_prelude_lines_are_reported_in_the_text_form() -> None:
    expected = _load("prelude-and-heading")
    result = _parse("prelude-and-heading", "text", expected)
    skipped = [d for d in result.diagnostics if d.code == "skipped-line"]
    assert skipped
    assert all(d.line is not None and "prelude" in d.message for d in skipped)

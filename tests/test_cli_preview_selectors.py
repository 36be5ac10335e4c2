"""``feedpub preview --kind html --item ... --title ...``: selectors tried from the command line,
run as the installed console command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import DATA
from tests.test_cli_preview import feedpub


@pytest.fixture
def forum_page(tmp_path: Path) -> Path:
    path = tmp_path / "board.html"
    shutil.copy(DATA / "html" / "forum-sibling-rows.html", path)
    return path


def test_selectors_given_as_options_read_the_page_without_a_configuration(
    forum_page: Path,
) -> None:
    result = feedpub(
        "preview", str(forum_page), "--kind", "html", "--item", "tr.thread",
        "--title", "td.subject a", "--date", "+ tr .age@title",
        "--source-url", "https://kettleby.example/board/",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "3 entries (2 dated)" in result.stdout
    assert "2026-11-12  Restoring a 1952 bench lathe" in result.stdout
    assert "link https://kettleby.example/threads/301-lathe-restoration" in result.stdout
    assert "2026-11-03  Wiring a second-hand kiln safely" in result.stdout


def test_the_json_form_carries_entries_and_diagnostics(tmp_path: Path) -> None:
    page = tmp_path / "actions.html"
    shutil.copy(DATA / "html" / "summary-event-date.html", page)
    result = feedpub(
        "preview", str(page), "--item", "div.post", "--title", "h3", "--summary", "p",
        "--link", "h3 a@href", "--format", "json", "--source-url", "https://rowing.example/",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert [e["date"] for e in printed["entries"]] == [None, None]
    assert printed["entries"][0]["link"] == "https://rowing.example/news/agm-notice"
    codes = {d["code"] for d in printed["diagnostics"]}
    assert {"no-date-element", "undated-items"} <= codes


def test_a_bad_selector_option_is_a_one_line_error_naming_it(forum_page: Path) -> None:
    result = feedpub("preview", str(forum_page), "--kind", "html", "--item", "tr", "--date", "+")
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert f"{forum_page}: date: a sibling field is '+'" in line


def test_selector_options_are_refused_with_another_adapter(forum_page: Path) -> None:
    result = feedpub("preview", str(forum_page), "--kind", "ilo", "--item", "tr")
    assert result.returncode == 1
    assert "--item: selectors are read with --kind html, not with --kind ilo" in result.stderr


def test_a_page_that_is_no_ilo_listing_points_to_suggest(forum_page: Path) -> None:
    result = feedpub("preview", str(forum_page))
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "--suggest" in line
    assert "--kind html --item SEL --title SEL" in line

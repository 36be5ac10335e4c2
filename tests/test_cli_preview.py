"""``feedpub preview``, run as the installed console command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sources import ilo
from tests.http_server import LocalServer, Route

PAGE = """Newsroom

November 2026

  1. © K. Mensah / NLO 2026

    Press release

    Northfield office opens a youth employment desk

    14 November 2026

    The desk will advise young jobseekers on apprenticeships.

  2. Statement

    Statement on the minimum wage review

    3 November 2026

  3. Event

    Open day at the Northfield training centre

    Visitors can meet trainers and try the workshops.
"""


def feedpub_command() -> str:
    """The installed ``feedpub`` console command beside this Python."""
    command = shutil.which("feedpub", path=str(Path(sys.executable).parent))
    assert command, "the feedpub console command is not installed beside this Python"
    return command


def feedpub(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``feedpub`` command (with extra environment variables)."""
    result = subprocess.run(
        [feedpub_command(), *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )
    return subprocess.CompletedProcess(
        result.args, result.returncode, result.stdout.decode(), result.stderr.decode()
    )


@pytest.fixture
def page_file(tmp_path: Path) -> Path:
    path = tmp_path / "newsroom.txt"
    path.write_text(PAGE, encoding="utf-8")
    return path


def test_preview_prints_every_entry_and_the_diagnostics(page_file: Path) -> None:
    result = feedpub("preview", str(page_file))
    assert result.returncode == 0, result.stderr
    assert "3 entries (2 dated)" in result.stdout
    assert "2026-11-14  Northfield office opens a youth employment desk" in result.stdout
    assert "labels: Press release · credit: © K. Mensah / NLO 2026" in result.stdout
    assert "undated-item (line 21, item 3)" in result.stdout


ILO_DATA = Path(__file__).parent / "data" / "ilo"


@pytest.mark.parametrize(
    ("case", "key"),
    [
        ("month-groups-english.txt", "numbered"),
        ("flat-dash-german.txt", "dash-separated"),
        ("titleless-flat.txt", "date-led"),
        ("home-page-bulleted.txt", "bulleted"),
        ("flat-dash-english.html", "blocks"),
    ],
)
def test_preview_says_which_rendition_of_an_ilo_listing_it_recognised(
    case: str, key: ilo.Rendition
) -> None:
    result = feedpub("preview", str(ILO_DATA / case))
    assert result.returncode == 0, result.stderr
    said = result.stdout.splitlines()[1]
    assert said == f"read as an ILO listing, {ilo.RENDITIONS[key]}"
    as_json = feedpub("preview", str(ILO_DATA / case), "--format", "json")
    assert json.loads(as_json.stdout)["rendition"] == key


def test_preview_of_a_flat_page_says_it_is_dash_separated() -> None:
    result = feedpub("preview", str(ILO_DATA / "flat-dash-spanish.txt"))
    assert "read as an ILO listing, text rendition, flat items separated by '-' lines" in (
        result.stdout
    )


def test_preview_json_has_the_documented_fields(page_file: Path) -> None:
    result = feedpub(
        "preview", str(page_file), "--format", "json", "--timezone", "Africa/Nairobi",
        "--source-url", "https://www.example.org/newsroom/lang--en/index.htm",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    first = data["entries"][0]
    assert set(first) >= {
        "id",
        "title",
        "link",
        "date",
        "published",
        "labels",
        "credit",
        "summary",
        "group",
    }
    assert first["date"] == "2026-11-14"
    assert first["published"] == "2026-11-13T21:00:00Z"  # midnight in Nairobi (UTC+3)
    assert first["link"] == "https://www.example.org/newsroom/lang--en/index.htm"
    assert first["labels"] == ["Press release"]
    assert first["group"] == "November 2026"
    assert data["entries"][1]["summary"] == ""
    assert data["entries"][2]["date"] is None
    assert [d["code"] for d in data["diagnostics"]] == ["undated-item"]


def test_preview_reads_standard_input(page_file: Path) -> None:
    from_stdin = feedpub(
        "preview",
        "-",
        "--format",
        "json",
        "--source-url",
        "https://x.example/n/",
        stdin=PAGE.encode(),
    )
    from_file = feedpub(
        "preview", str(page_file), "--format", "json", "--source-url", "https://x.example/n/"
    )
    assert from_stdin.returncode == 0, from_stdin.stderr
    ids = [[e["id"] for e in json.loads(r.stdout)["entries"]] for r in (from_stdin, from_file)]
    assert ids[0] == ids[1]


def test_preview_fetches_a_url_and_resolves_links_against_it(server: LocalServer) -> None:
    server.routes["/newsroom/"] = Route(
        b"<html><body><h1>Newsroom</h1><ol class='item-list'><li>"
        b"<h5 class='item-title'><a href='item-1.htm'>A title</a></h5><p>5 May 2026</p>"
        b"</li></ol></body></html>",
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    result = feedpub("preview", server.url("/newsroom/"), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["entries"][0]["link"] == server.url("/newsroom/item-1.htm")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data, not a text or HTML page"),
        (b"", "the document is empty"),
        (
            b"Our policy\n\n  1. Workers come first\n\n  2. Safety always\n",
            "does not look like a news listing",
        ),
    ],
)
def test_bad_input_gives_a_one_line_error_naming_it(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "input.txt"
    if content is not None:
        path.write_bytes(content)
    result = feedpub("preview", str(path))
    assert result.returncode == 1
    error_lines = result.stderr.strip().splitlines()
    assert len(error_lines) == 1
    assert str(path) in error_lines[0]
    assert message in error_lines[0]
    assert "Traceback" not in result.stderr


def test_an_unreachable_url_is_a_one_line_error(server: LocalServer) -> None:
    result = feedpub("preview", server.url("/missing"))
    assert result.returncode == 1
    assert result.stderr.strip() == f"Error: {server.url('/missing')}: HTTP 404 Not Found"


def test_an_unknown_time_zone_is_a_usage_error(page_file: Path) -> None:
    result = feedpub("preview", str(page_file), "--timezone", "Mars/Olympus")
    assert result.returncode == 2
    assert "unknown time zone 'Mars/Olympus'" in result.stderr


def test_preview_in_process_prints_not_a_listing_after_the_entries_it_found() -> None:
    from click.testing import CliRunner

    import server as entry_point

    result = CliRunner().invoke(entry_point.cli, ["preview", "-"], input="  1. Only a point\n")
    assert result.exit_code == 1
    assert "0 entries (0 dated)" in result.output
    assert "[error] not-a-listing: the page does not look like a news listing" in result.output

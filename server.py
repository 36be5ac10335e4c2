"""feedpub's entry point: the command line (and, later, the Flask app) wiring ``feeds`` and
``sources`` together. Logging is configured here and nowhere else."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from feeds import __version__
from feeds.errors import FeedpubError
from feeds.fetch import fetch_document
from feeds.model import UTC, PageContext, ParseResult, diagnostic_record, entry_record
from feeds.text import decode_document
from sources import ilo

#: Headquarters pages date their news in Geneva.
DEFAULT_TIMEZONE = "Europe/Zurich"
_STDIN = "-"


def _zone(_ctx: click.Context, _param: click.Parameter, value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise click.BadParameter(f"unknown time zone {value!r}") from error


def _read_input(location: str, source_url: str | None) -> tuple[bytes, str, str | None]:
    """Read the page to preview: returns its bytes, its page URL and its declared charset."""
    if location == _STDIN:
        return sys.stdin.buffer.read(), source_url or "stdin:", None
    document = fetch_document(location)
    return document.content, source_url or document.url, document.charset


def _print_text(name: str, result: ParseResult, context: PageContext) -> None:
    dated = sum(1 for entry in result.entries if entry.date)
    click.echo(
        f"{name}: {len(result.entries)} entries ({dated} dated), "
        f"{len(result.diagnostics)} diagnostics; dates read in {context.timezone.key}"
    )
    for number, entry in enumerate(result.entries, start=1):
        day = entry.date.isoformat() if entry.date else "undated   "
        click.echo(f"\n{number:3}. {day}  {entry.title}")
        details = [f"group: {entry.group}"] if entry.group else []
        details += [f"labels: {', '.join(entry.labels)}"] if entry.labels else []
        details += [f"credit: {entry.credit}"] if entry.credit else []
        if details:
            click.echo("     " + " · ".join(details))
        click.echo(f"     published {entry.published.isoformat()}  id {entry.id}")
        click.echo(f"     link {entry.link}")
        if entry.summary:
            summary = " ".join(entry.summary.split())
            click.echo("     " + (summary if len(summary) <= 160 else summary[:157] + "..."))
    if result.diagnostics:
        click.echo("\ndiagnostics:")
    for diagnostic in result.diagnostics:
        where = ", ".join(
            f"{label} {value}"
            for label, value in (("line", diagnostic.line), ("item", diagnostic.item))
            if value is not None
        )
        prefix = f"  [{diagnostic.severity}] {diagnostic.code}"
        click.echo(
            f"{prefix} ({where}): {diagnostic.message}"
            if where
            else f"{prefix}: {diagnostic.message}"
        )


@click.group()
@click.version_option(__version__, prog_name="feedpub")
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
def cli(verbose: bool) -> None:
    """feedpub: feeds for news listing pages that have none."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@cli.command()
@click.argument("location", metavar="PATH_OR_URL")
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text",
    show_default=True, help="How to print what was found.",
)  # fmt: skip
@click.option(
    "--timezone", "zone", default=DEFAULT_TIMEZONE, show_default=True, callback=_zone,
    help="The time zone the listing's dates are read in.",
)  # fmt: skip
@click.option(
    "--source-url", help="The page's public URL (for links and identity) when reading a copy."
)
@click.option(
    "--form", type=click.Choice(["text", "html"]), default=None,
    help="Whether the page is HTML or a text rendition (detected by default).",
)  # fmt: skip
def preview(
    location: str,
    output_format: str,
    zone: ZoneInfo,
    source_url: str | None,
    form: ilo.Form | None,
) -> None:
    """Parse one listing page (a path, a URL, or - for standard input) and show its entries.

    The tool to run when adding a source: it prints every entry with its id and dates, and
    what the parser decided (diagnostics). Exits non-zero when the page is not a listing.
    """
    name = "standard input" if location == _STDIN else location
    try:
        content, page_url, charset = _read_input(location, source_url)
        text = decode_document(content, source=name, charset=charset)
        context = PageContext(
            source_id="preview",
            page_url=page_url,
            timezone=zone,
            seen_at=dt.datetime.now(UTC),
        )
        result = ilo.parse(text, context, form)
    except FeedpubError as error:
        message = str(error)
        raise click.ClickException(
            message if message.startswith(name) else f"{name}: {message}"
        ) from error
    if output_format == "json":
        click.echo(
            json.dumps(
                {
                    "entries": [entry_record(entry) for entry in result.entries],
                    "diagnostics": [diagnostic_record(d) for d in result.diagnostics],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        _print_text(name, result, context)
    if not result.is_listing:
        reason = next(d.message for d in result.diagnostics if d.code == "not-a-listing")
        raise click.ClickException(f"{name}: {reason}")


def main() -> None:
    """The ``feedpub`` console command."""
    cli(prog_name="feedpub")


if __name__ == "__main__":
    main()

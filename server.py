"""feedpub's entry point: the Flask app and the command line, wiring ``feeds`` and ``sources``
together. Logging is configured here and nowhere else; the scheduler starts only in the
``serve`` and ``worker`` commands, never in the app factory."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
import httpx
from flask import Flask, Response
from markupsafe import escape

import sources
from feeds import __version__
from feeds.config import CONFIG_ENV, DATABASE_ENV, Config, find_config_path, load_config
from feeds.errors import ConfigError, FeedpubError
from feeds.fetch import Fetcher, HostGate, fetch_document, user_agent
from feeds.http import FeedMiddleware
from feeds.model import UTC, PageContext, ParseResult, diagnostic_record, entry_record
from feeds.publish import FeedPublisher
from feeds.refresh import Refresher, RefreshOutcome
from feeds.scheduler import build_scheduler
from feeds.store import Ledger
from feeds.text import decode_document
from sources import ilo

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
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
        format=LOG_FORMAT,
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


config_option = click.option(
    "--config",
    "config_path",
    metavar="FILE",
    help="The configuration file (default: $FEEDPUB_CONFIG, ./feedpub.toml, or the bundled "
    "sample configuration).",
)


def load(config_path: str | None) -> Config:
    """Load and validate the configuration, or exit with its error."""
    try:
        return load_config(find_config_path(config_path), adapter_kinds=sources.ADAPTERS.keys())
    except ConfigError as error:
        raise click.ClickException(str(error)) from error


def open_refresher(config: Config) -> Refresher:
    """The ledger, a polite fetcher and the adapters, wired for this configuration."""
    fetch = config.fetch
    fetcher = Fetcher(
        max_bytes=fetch.max_bytes,
        timeout=httpx.Timeout(fetch.timeout_seconds, connect=fetch.connect_timeout_seconds),
        agent=user_agent(config.publisher.contact),
        gate=HostGate(spacing=fetch.host_spacing_seconds),
        deadline_seconds=fetch.timeout_seconds,
    )
    try:
        ledger = Ledger.open(config.database_url)
    except Exception as error:
        fetcher.close()
        raise click.ClickException(f"database {config.database_url}: {error}") from error
    return Refresher(
        ledger=ledger,
        fetcher=fetcher,
        adapters=sources.ADAPTERS,
        max_backoff=dt.timedelta(minutes=fetch.max_backoff_minutes),
    )


def _print_outcomes(outcomes: list[RefreshOutcome]) -> None:
    width = max([len("source"), *(len(o.source_id) for o in outcomes)])
    click.echo(
        f"{'source':<{width}}  {'status':<12} {'new':>5} {'updated':>7} {'total':>6} {'time':>7}"
    )
    for outcome in outcomes:
        merge = outcome.merge
        click.echo(
            f"{outcome.source_id:<{width}}  {outcome.status:<12} {merge.new:>5} "
            f"{merge.updated:>7} {merge.total:>6} {outcome.seconds:>6.2f}s"
        )
    for outcome in outcomes:
        if outcome.error:
            click.echo(f"{outcome.source_id}: {outcome.error}", err=True)


@cli.command()
@click.argument("source_ids", nargs=-1, metavar="[SOURCE_ID]...")
@config_option
@click.option(
    "--accept-changes",
    is_flag=True,
    help="Publish pages the layout-change guard would hold back (after a real redesign).",
)
def refresh(source_ids: tuple[str, ...], config_path: str | None, accept_changes: bool) -> None:
    """Refresh sources now (all, or those named) and print what changed.

    Exits non-zero if any source failed or was held back as suspect.
    """
    config = load(config_path)
    try:
        chosen = [config.source(source_id) for source_id in source_ids] or list(config.sources)
    except LookupError as error:
        raise click.ClickException(str(error)) from error
    refresher = open_refresher(config)
    outcomes: dict[str, RefreshOutcome] = {}
    try:
        with (
            ThreadPoolExecutor(max_workers=4) as pool,
            click.progressbar(
                length=len(chosen), label="Refreshing", file=sys.stderr, show_pos=True
            ) as bar,
        ):
            futures = [
                pool.submit(refresher.refresh, source, accept_changes=accept_changes)
                for source in chosen
            ]
            for future in as_completed(futures):
                outcome = future.result()
                outcomes[outcome.source_id] = outcome
                bar.update(1)
    finally:
        refresher.fetcher.close()
        refresher.ledger.close()
    ordered = [outcomes[source.id] for source in chosen]
    _print_outcomes(ordered)
    failed = [o.source_id for o in ordered if o.failed]
    if failed:
        raise click.ClickException(
            f"{len(failed)} of {len(ordered)} sources failed: {', '.join(failed)}"
        )


@cli.command()
@config_option
def worker(config_path: str | None) -> None:
    """Refresh every source on its schedule until stopped (Ctrl-C)."""
    config = load(config_path)
    refresher = open_refresher(config)
    scheduler = build_scheduler(config.sources, refresher)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    scheduler.start()
    click.echo(f"feedpub worker: refreshing {len(config.sources)} sources; Ctrl-C stops", err=True)
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.shutdown(wait=True)
        refresher.fetcher.close()
        refresher.ledger.close()
    click.echo("feedpub worker: stopped", err=True)


def create_app(
    config: Config | None = None,
    *,
    ledger: Ledger | None = None,
    publisher: FeedPublisher | None = None,
) -> Flask:
    """The web app: feeds (answered by ``FeedMiddleware`` before routing), pages, health.

    Parts are injectable for tests; by default the configuration is found as the command
    line finds it (``$FEEDPUB_CONFIG``, ``./feedpub.toml``, the bundled sample).
    """
    config = config or load_config(find_config_path(), adapter_kinds=sources.ADAPTERS.keys())
    ledger = ledger or Ledger.open(config.database_url)
    publisher = publisher or FeedPublisher(config, ledger)
    app = Flask(__name__)
    app.extensions["feedpub"] = publisher

    @app.get("/")
    def index() -> str:
        links = "".join(
            f'<li>{escape(t.title)}: <a href="/feeds/{t.id}.rss">RSS</a> '
            f'<a href="/feeds/{t.id}.atom">Atom</a> <a href="/feeds/{t.id}.json">JSON</a></li>'
            for t in config.topics
        )
        return f"<!doctype html><title>{escape(config.publisher.name)}</title><ul>{links}</ul>"

    @app.get("/healthz")
    def healthz() -> Response:
        ledger.version()
        return Response("ok\n", mimetype="text/plain", headers={"Cache-Control": "no-store"})

    @app.after_request
    def never_cache_errors(response: Response) -> Response:
        if response.status_code >= 400:
            response.headers["Cache-Control"] = "no-store"
        return response

    app.wsgi_app = FeedMiddleware(app.wsgi_app, publisher)  # type: ignore[method-assign]
    return app


def make_app() -> Flask:
    """The app factory the production server calls in each of its worker processes."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return create_app()


@cli.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Server processes.")  # fmt: skip
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 256),
              help="Blocking threads per server process.")  # fmt: skip
@click.option("--scheduler/--no-scheduler", default=True, show_default=True,
              help="Also refresh sources on schedule (one scheduler for all workers).")  # fmt: skip
def serve(
    *, config_path: str | None, host: str, port: int, workers: int, threads: int, scheduler: bool
) -> None:
    """Serve the feeds (and refresh the sources) until stopped (Ctrl-C)."""
    from granian import Granian  # noqa: PLC0415  (only the serving command needs it)
    from granian.constants import Interfaces  # noqa: PLC0415

    config = load(config_path)
    try:
        Ledger.open(config.database_url).close()  # create the schema once, before the workers
    except Exception as error:
        raise click.ClickException(f"database {config.database_url}: {error}") from error
    os.environ[CONFIG_ENV] = str(config.path.resolve())
    os.environ[DATABASE_ENV] = config.database_url
    refresher = None
    if scheduler:
        refresher = subprocess.Popen(  # noqa: S603  (our own command, our own arguments)
            [sys.executable, "-m", "server", "worker", "--config", str(config.path.resolve())]
        )
    click.echo(f"feedpub: serving {len(config.topics)} topics on http://{host}:{port}/", err=True)
    try:
        Granian(
            "server:make_app",
            factory=True,
            interface=Interfaces.WSGI,
            address=host,
            port=port,
            workers=workers,
            blocking_threads=threads,
            log_access=False,
        ).serve()
    finally:
        if refresher is not None:
            refresher.send_signal(signal.SIGINT)
            try:
                refresher.wait(timeout=30)
            except subprocess.TimeoutExpired:
                refresher.kill()
    click.echo("feedpub: stopped", err=True)


def main() -> None:
    """The ``feedpub`` console command."""
    cli(prog_name="feedpub")


if __name__ == "__main__":
    main()

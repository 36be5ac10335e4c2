"""feedpub's entry point: the Flask app and the command line, wiring ``feeds`` and ``sources``
together. Logging is configured here and nowhere else; the scheduler starts only in the
``serve`` and ``worker`` commands, never in the app factory."""

from __future__ import annotations

import datetime as dt
import faulthandler
import logging
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from flask import Flask, Response, abort, request
from sqlalchemy import URL, Engine
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

import sources
from feeds import __version__, logs, metrics, processes
from feeds.config import CONFIG_ENV, DATABASE_ENV, Config, find_config_path, load_config
from feeds.config.hub import HUB_PATH
from feeds.errors import ConfigError, FeedpubError, LedgerUnavailableError
from feeds.ledger import schema
from feeds.ledger.database import DEFAULT_POOL_SIZE, open_engine, shown_url
from feeds.ledger.store import Ledger
from feeds.model import UTC, PageContext
from feeds.refresh.browser import Renderer, render_document
from feeds.refresh.fetch import Fetcher, fetch_document, user_agent
from feeds.refresh.hub import HubWorker
from feeds.refresh.outcomes import outcomes_table
from feeds.refresh.refresher import Refresher
from feeds.refresh.scheduler import build_scheduler, stop_scheduler
from feeds.serve import pages
from feeds.serve.filters import read_filter
from feeds.serve.hosts import BaseUrls
from feeds.serve.http import RETRY_AFTER_SECONDS, FeedMiddleware, WSGIApplication
from feeds.serve.hub import ChangeWatcher, HubIntake
from feeds.serve.overview import Overview, TopicOverview, utc_now
from feeds.serve.publish import STYLESHEET_PATH, FeedPublisher
from feeds.text import read_document
from sources import ilo
from sources import preview as preview_output
from sources.article import extract_article, read_article
from sources.suggest import suggest_source, suggestion_toml

logger = logging.getLogger(__name__)
#: How ``feedpub serve`` tells its server processes how many threads each runs (and so how
#: many database connections each keeps).
THREADS_ENV = "FEEDPUB_SERVE_THREADS"
#: ``feedpub serve``'s defaults for the server: connections kept open by each process,
#: seconds a connection may take to send a request's head, connections the system queues.
DEFAULT_MAX_CONNECTIONS = 4096
DEFAULT_HEADER_TIMEOUT = 10
DEFAULT_BACKLOG = 2048
#: Headquarters pages date their news in Geneva.
DEFAULT_TIMEZONE = "Europe/Zurich"
_STDIN = "-"


def _zone(_ctx: click.Context, _param: click.Parameter, value: str | None) -> ZoneInfo | None:
    if value is None:
        return None
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise click.BadParameter(f"unknown time zone {value!r}") from error


def _read_input(
    location: str, source_url: str | None, render: str | None
) -> tuple[bytes, str, str | None]:
    """Read the page to preview (``render``: as the browser shows it): returns its bytes, its
    page URL and its declared charset."""
    if location == _STDIN:
        return sys.stdin.buffer.read(), source_url or "stdin:", None
    document = render_document(location) if render else fetch_document(location)
    return document.content, source_url or document.url, document.charset


@click.group()
@click.version_option(__version__, prog_name="feedpub")
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
@click.option(
    "--log-format", type=click.Choice(logs.FORMATS), default="text", show_default=True,
    envvar=logs.LOG_FORMAT_ENV,
    help="How log lines look: for people, or one JSON object a line (with each refresh's "
    "source, URL, outcome and duration) for log shippers.",
)  # fmt: skip
def cli(verbose: bool, log_format: str) -> None:
    """feedpub: feeds for news listing pages that have none."""
    logs.configure(log_format, verbose=verbose)
    os.environ[logs.LOG_FORMAT_ENV] = log_format  # for the processes ``serve`` starts


config_option = click.option(
    "--config",
    "config_path",
    metavar="FILE",
    help="The configuration file (default: $FEEDPUB_CONFIG, ./feedpub.toml, or the bundled "
    "sample configuration).",
)


def _selector_options(command: Callable[..., None]) -> Callable[..., None]:
    for key in reversed(preview_output.SELECTOR_OPTIONS):
        command = click.option(f"--{key}", metavar="SEL", help=f"--kind html: {key} selector")(
            command
        )
    return command


@cli.command()
@click.argument("location", metavar="[PATH_OR_URL]", required=False)
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text",
    show_default=True, help="How to print what was found.",
)  # fmt: skip
@click.option(
    "--timezone", "zone", default=None, callback=_zone,
    help=f"The time zone the listing's dates are read in (default {DEFAULT_TIMEZONE}).",
)  # fmt: skip
@click.option(
    "--source-url", help="The page's public URL (for links and identity) when reading a copy."
)
@click.option(
    "--kind", type=click.Choice(sorted(sources.ADAPTERS)), default=None,
    help="The adapter to read the page with (default ilo).",
)  # fmt: skip
@click.option(
    "--form", type=click.Choice(["text", "html"]), default=None,
    help="For the ilo adapter: HTML or a text rendition (detected by default).",
)  # fmt: skip
@click.option("--source", "source_id", help="Read the page as this configured source does.")
@config_option
@click.option(
    "--suggest", is_flag=True,
    help="Find the page's items and print a source configuration to paste.",
)  # fmt: skip
@click.option(
    "--full-text", is_flag=True,
    help="The page is an article: show the body full_text sources would publish of it.",
)  # fmt: skip
@click.option(
    "--full-text-selector", metavar="SEL", default=None,
    help="--full-text: the article body's CSS selector (default: the source's, else found).",
)  # fmt: skip
@click.option(
    "--render", type=click.Choice(["browser"]), default=None,
    help="Read the page as headless Chromium shows it once its scripts have run.",
)  # fmt: skip
@_selector_options
def preview(  # noqa: PLR0917  (click passes every option)
    location: str | None,
    output_format: str,
    zone: ZoneInfo | None,
    source_url: str | None,
    kind: str | None,
    form: ilo.Form | None,
    source_id: str | None,
    config_path: str | None,
    suggest: bool,
    full_text: bool,
    full_text_selector: str | None,
    render: str | None,
    **fields: str | None,
) -> None:
    """Parse one listing page (a path, a URL, or - for standard input) and show its entries.

    The tool to run when adding a source: it prints every entry with its id and dates, and
    what the parser decided (diagnostics). With --source, the page (by default the source's
    own URL) is read as that configured source reads it; with --suggest, the page's items are
    found without help and a source configuration is printed; --kind html with --item, --title...
    tries selectors without a configuration file; with --full-text, the page is an article and
    the body full_text sources would publish of it is shown. Exits non-zero when the page is
    not a listing (or, with --full-text, gives no article).
    """
    source = None
    if source_id:
        try:
            source = load(config_path).source(source_id)
        except LookupError as error:
            raise click.ClickException(str(error)) from error
    location = location or (source.url if source else None)
    if not location:
        raise click.UsageError("give a PATH_OR_URL (or --source)")
    name = "standard input" if location == _STDIN else location
    zone = zone or (source.timezone if source else ZoneInfo(DEFAULT_TIMEZONE))
    try:
        selectors = preview_output.command_line_selectors(fields, kind, source_id)
        content, page_url, charset = _read_input(
            location,
            source_url or (source.public_url if source else None),
            render or (source.render if source else None),
        )
        decoded = read_document(content, source=name, charset=charset)
        for note in decoded.notes:
            click.echo(f"{name}: {note}", err=True)
        text = decoded.text
        if full_text:
            body_selector = full_text_selector or (source.full_text_selector if source else "")
            article = read_article(text, url=page_url, selector=body_selector)
            click.echo(preview_output.article_output(name, article, output_format))
            return
        context = PageContext(
            source_id=source.id if source else "preview",
            page_url=page_url,
            timezone=zone,
            seen_at=dt.datetime.now(UTC),
        )
        if suggest:
            suggestion = suggest_source(text, context)
            if not suggestion.kind:
                raise click.ClickException(f"{page_url}: {'; '.join(suggestion.notes)}")
            if output_format == "json":
                click.echo(preview_output.suggestion_json(suggestion))
            else:
                toml = suggestion_toml(suggestion, page_url, zone.key, render=render or "")
                click.echo(toml, nl=False)
            return
        recognised: ilo.Rendition | None = None
        if source is not None and source.kind != "ilo":
            result = sources.ADAPTERS[source.kind](source.selectors)(text, context)
        elif (kind and kind != "ilo") or selectors:
            result = sources.ADAPTERS[kind or "html"](selectors)(text, context)
        else:
            recognised, result = ilo.read_page(text, context, form)
    except (FeedpubError, ValueError) as error:
        message = str(error)
        raise click.ClickException(
            message if message.startswith(name) else f"{name}: {message}"
        ) from error
    if output_format == "json":
        click.echo(preview_output.result_json(result, recognised))
    else:
        rendition = f"an ILO listing, {ilo.RENDITIONS[recognised]}" if recognised else None
        click.echo(preview_output.result_text(name, result, context, rendition))
    if not result.is_listing:
        read_as_ilo = source is None and kind in (None, "ilo") and not selectors
        raise click.ClickException(preview_output.not_a_listing(name, result, read_as_ilo))


def load(config_path: str | None) -> Config:
    """Load and validate the configuration, or exit with its error."""
    try:
        return load_config(find_config_path(config_path), adapter_kinds=sources.ADAPTERS)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error


@contextmanager
def database_errors(database_url: str | URL) -> Iterator[None]:
    """Exit with what is wrong with the database, named by its URL (password hidden)."""
    try:
        yield
    except FeedpubError as error:
        raise click.ClickException(str(error)) from error
    except Exception as error:
        raise click.ClickException(f"database {shown_url(database_url)}: {error}") from error


@contextmanager
def schema_engine(config: Config) -> Iterator[Engine]:
    """One connection to the configured database, for schema commands; exits with what is
    wrong with the database."""
    engine = open_engine(config.database_url, pool_size=1)
    try:
        with database_errors(engine.url):
            yield engine
    finally:
        engine.dispose()


def open_ledger(config: Config, *, pool_size: int = DEFAULT_POOL_SIZE) -> Ledger:
    """The ledger on the configured database, or exit with what is wrong with it."""
    with database_errors(config.database_url):
        return Ledger.open(config.database_url, pool_size=pool_size)


def open_refresher(config: Config, *, pool_size: int = DEFAULT_POOL_SIZE) -> Refresher:
    """The ledger, a polite fetcher and the adapters, wired for this configuration. The
    spacing between requests to a host holds across every process on the database (the
    ledger keeps the hosts' turns)."""
    ledger = open_ledger(config, pool_size=pool_size)
    return Refresher(
        ledger=ledger,
        fetcher=Fetcher.configured(
            config.fetch, contact=config.publisher.contact, shared=ledger.take_turn
        ),
        adapters=sources.ADAPTERS,
        extract_article=extract_article,
        renderer=Renderer(config.browser),
        max_backoff=dt.timedelta(minutes=config.fetch.max_backoff_minutes),
        lease=dt.timedelta(seconds=config.scheduler.lease_seconds),
    )


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
    try:
        with click.progressbar(
            length=len(chosen), label="Refreshing", file=sys.stderr, show_pos=True
        ) as bar:
            ordered = refresher.refresh_all(
                chosen, accept_changes=accept_changes, done=lambda _outcome: bar.update(1)
            )
    finally:
        refresher.close()
    click.echo(outcomes_table(ordered))
    for outcome in ordered:
        if outcome.error:
            click.echo(f"{outcome.source_id}: {outcome.error}", err=True)
    failed = [o.source_id for o in ordered if o.failed]
    if failed:
        raise click.ClickException(
            f"{len(failed)} of {len(ordered)} sources failed: {', '.join(failed)}"
        )


@cli.command()
@config_option
def worker(config_path: str | None) -> None:
    """Refresh every source on its schedule until stopped (Ctrl-C or SIGTERM).

    Stopping is prompt: refreshes under way are abandoned (nothing of them stored, their
    sources given back to other workers), and no queued one starts."""
    processes.end_with_parent()  # started by ``feedpub serve``: ends with it
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # kill -USR1: every thread's stack
    config = load(config_path)
    websub = config.websub
    # the hub's threads (deliveries, and the watcher) keep connections of their own
    extra = websub.delivery_threads + 2 if websub.enabled else 0
    refresher = open_refresher(config, pool_size=DEFAULT_POOL_SIZE + extra)
    scheduler = build_scheduler(config.sources, refresher, threads=config.scheduler.threads)
    hub_threads = None
    if websub.enabled:
        hub_threads = start_hub(config, refresher.ledger)
        refresher.stored = lambda _outcome: hub_threads.watcher.wake()
    click.echo(f"feedpub worker: refreshing {len(config.sources)} sources; Ctrl-C stops", err=True)
    processes.settle_collector()  # started: what is alive now lives as long as the worker
    try:
        processes.run_until_stopped(scheduler.start)
    finally:
        if hub_threads is not None:
            hub_threads.stop()
        stop_scheduler(scheduler, refresher)
        refresher.close()
    click.echo("feedpub worker: stopped", err=True)


class HubThreads:
    """The hub's work in a worker process: the watcher publishing each subscribed feed's
    changes, and the worker verifying requests and sending deliveries."""

    def __init__(self, watcher: ChangeWatcher, hub_worker: HubWorker) -> None:
        self.watcher = watcher
        self.hub_worker = hub_worker
        self.threads = [
            threading.Thread(target=watcher.run, name="websub-watcher", daemon=True),
            threading.Thread(target=hub_worker.run, name="websub-worker", daemon=True),
        ]

    def start(self) -> HubThreads:
        for thread in self.threads:
            thread.start()
        return self

    def stop(self) -> None:
        self.watcher.stop()
        self.hub_worker.stop()
        for thread in self.threads:
            thread.join(timeout=10)
        self.hub_worker.close()


def start_hub(config: Config, ledger: Ledger) -> HubThreads:
    """Start the hub's threads on the worker's ledger."""
    hub_worker = HubWorker(ledger, config.websub, agent=user_agent(config.publisher.contact))
    watcher = ChangeWatcher(
        FeedPublisher(config, ledger, version_ttl=0.0),
        config.websub,
        canonical_base=config.publisher.base_url,
        queued=hub_worker.wake,
    )
    return HubThreads(watcher, hub_worker).start()


#: Paths that say how things are now: never cached.
_LIVE_PATHS = frozenset({"/status", "/status.json", "/healthz", HUB_PATH})
#: The largest subscription request taken (a form of a few URLs).
MAX_HUB_REQUEST_BYTES = 16 * 1024
#: How long caches may keep a page.
PAGE_MAX_AGE_SECONDS = 60
SiteFor = Callable[..., pages.Site]


def _page(body: str, mimetype: str = "text/html") -> Response:
    return Response(body, mimetype=mimetype)


def _site_for(config: Config, base_urls: BaseUrls) -> SiteFor:
    """How each request finds the publisher and the base URL its pages' links are made from
    (its own host's if allowed, else the canonical one)."""
    source_languages = {source.id: source.language for source in config.sources}

    def site(*, strict: bool = True) -> pages.Site:
        # a Host header that is no host is a 400, or (for error pages) gives relative links
        base = base_urls(request.environ)
        if base is None:
            if strict:
                abort(400, "bad Host header")
            base = ""
        return pages.Site(
            name=config.publisher.name,
            language=config.publisher.language,
            base=base,
            source_languages=source_languages,
        )

    return site


def _add_page_routes(app: Flask, overview: Overview, site: SiteFor) -> None:
    """The pages for people and partners: index, topics, widget and its script, OPML, XSL."""

    def topic_or_404(topic_id: str, *, counted: bool = True) -> TopicOverview:
        try:
            return overview.topic(topic_id, counted=counted)
        except LookupError:
            abort(404, f"There is no topic {topic_id!r} here.")

    @app.get("/")
    def index() -> Response:
        return _page(pages.index_page(site(), overview.topics()))

    @app.get("/topics/<topic_id>")
    def topic(topic_id: str) -> Response:
        return _page(pages.topic_page(site(), topic_or_404(topic_id)))

    # the widget, its script and the OPML show no counts: they never wait for one
    @app.get("/embed/<topic_id>")
    def embed(topic_id: str) -> Response:
        found = topic_or_404(topic_id, counted=False)
        try:
            options = pages.EmbedOptions.from_query(request.args)
            filters = read_filter(list(request.args.items(multi=True)))
        except ValueError as error:
            abort(400, str(error))
        if not filters.selects:
            return _page(pages.embed_page(site(), found, options))
        # the widget filters the topic's latest entries (as many as its feeds carry)
        cutoff = filters.cutoff(overview.clock())
        entries = filters.apply(found.latest, options.count, cutoff)
        query = urlencode(filters.pairs)
        return _page(pages.embed_page(site(), found, options, (entries, query)))

    @app.get("/embed/<topic_id>.js")
    def embed_script(topic_id: str) -> Response:
        found = topic_or_404(topic_id, counted=False)
        try:
            query = urlencode(read_filter(list(request.args.items(multi=True))).pairs)
        except ValueError as error:
            abort(400, str(error))
        response = _page(pages.embed_script(site(), found.topic.id, query), "text/javascript")
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    @app.get("/feeds.opml")
    def opml() -> Response:
        return _page(pages.opml(site(), overview.topics(counted=False)), "text/x-opml")

    @app.get(STYLESHEET_PATH)
    def feed_stylesheet() -> Response:
        return Response(pages.FEED_STYLESHEET, mimetype="text/xsl")


def _add_status_routes(app: Flask, ledger: Ledger, overview: Overview, site: SiteFor) -> None:
    """How the sources are doing, for people and programs, and a probe."""

    @app.get("/status")
    def status() -> Response:
        return _page(pages.status_page(site(), overview.sources(), overview.hub()))

    @app.get("/status.json")
    def status_json() -> Response:
        return _page(pages.status_json(overview.sources(), overview.hub()), "application/json")

    @app.get("/healthz")
    def healthz() -> Response:
        ledger.version()
        return Response("ok\n", mimetype="text/plain")


def _add_hub_route(app: Flask, intake: HubIntake, site: SiteFor) -> None:
    """``POST /websub``: subscription requests to the hub of the feeds (``feeds.serve.hub``)."""

    @app.post(HUB_PATH)
    def websub() -> Response:
        request.max_content_length = MAX_HUB_REQUEST_BYTES
        if request.mimetype != "application/x-www-form-urlencoded":
            abort(415, "a subscription request is a form (application/x-www-form-urlencoded)")
        answer = intake.take(
            list(request.form.items(multi=True)),
            client=request.remote_addr or "",
            base=site().base,
        )
        response = Response(f"{answer.message}\n", status=answer.status, mimetype="text/plain")
        response.headers.update(answer.headers)
        return response


def _add_response_rules(app: Flask, site: SiteFor) -> None:
    """Error pages, and every answer's caching, framing and sniffing headers: ``/embed/*`` may
    be framed anywhere, nothing else anywhere; no page runs a script."""

    @app.errorhandler(HTTPException)
    def error_page(error: HTTPException) -> BaseResponse | HTTPException:
        if error.code is None or error.code < 400:
            return error
        response = error.get_response()
        title = f"{error.code} {error.name}"
        body = pages.error_page(site(strict=False), error.code, title, error.description or "")
        response.set_data(body)
        return response

    @app.errorhandler(LedgerUnavailableError)
    def database_unavailable(error: LedgerUnavailableError) -> Response:
        logger.warning("%s %s: %s", request.method, request.path, error)
        body = pages.error_page(
            site(strict=False),
            503,
            "503 Service Unavailable",
            "The database is unavailable for a moment: try again shortly.",
        )
        response = Response(body, status=503, mimetype="text/html")
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.after_request
    def caching_and_security(response: Response) -> Response:
        path = request.path
        if response.status_code >= 400 or path in _LIVE_PATHS:
            response.headers["Cache-Control"] = "no-store"
        elif response.status_code == 200 and request.method in ("GET", "HEAD"):
            response.headers["Cache-Control"] = f"public, max-age={PAGE_MAX_AGE_SECONDS}"
            response.add_etag()
            response.make_conditional(request)
        response.headers.update(pages.security_headers(path))
        return response


def create_app(
    config: Config | None = None,
    *,
    ledger: Ledger | None = None,
    publisher: FeedPublisher | None = None,
    clock: Callable[[], dt.datetime] = utc_now,
) -> Flask:
    """The web app: feeds (answered by ``FeedMiddleware`` before routing), the pages for people
    and partners (``feeds.serve.pages``), status and health.

    Parts (and the status pages' clock) are injectable for tests; by default the
    configuration is found as the command line finds it (``$FEEDPUB_CONFIG``,
    ``./feedpub.toml``, the bundled sample).
    """
    config = config or load_config(find_config_path(), adapter_kinds=sources.ADAPTERS)
    ledger = ledger or Ledger.open(config.database_url)
    publisher = publisher or FeedPublisher(config, ledger)
    overview = Overview(publisher, clock=clock)
    base_urls = BaseUrls(config.publisher, config.limits)
    site = _site_for(config, base_urls)
    app = Flask(__name__)
    app.extensions["feedpub"] = publisher
    _add_page_routes(app, overview, site)
    _add_status_routes(app, ledger, overview, site)
    if config.websub.enabled:
        topic_ids = [topic.id for topic in config.topics]
        intake = HubIntake(config.websub, ledger, topic_ids)
        app.extensions["feedpub.hub"] = intake
        _add_hub_route(app, intake, site)
    _add_response_rules(app, site)
    app.wsgi_app = FeedMiddleware(  # type: ignore[method-assign]  # wrapping Flask's WSGI app
        app.wsgi_app, publisher, base_urls
    )
    if config.metrics.enabled:
        # imported only now: prometheus_client reads on import the environment that
        # ``feedpub serve`` sets for its processes (see feeds.metrics)
        from feeds.serve.monitoring import MonitoringMiddleware  # noqa: PLC0415

        app.wsgi_app = MonitoringMiddleware(  # type: ignore[method-assign]  # as above
            app.wsgi_app, config.metrics, overview.sources
        )
    return app


def make_app() -> Flask:
    """The app factory the production server calls in each of its worker processes: one
    database connection kept per thread."""
    logs.configure(os.environ.get(logs.LOG_FORMAT_ENV, "text"))
    processes.end_with_parent(signal.SIGKILL)  # nothing of a server process needs finishing
    config = load_config(find_config_path(), adapter_kinds=sources.ADAPTERS)
    threads = int(os.environ.get(THREADS_ENV, DEFAULT_POOL_SIZE))
    app = create_app(config, ledger=Ledger.open(config.database_url, pool_size=threads))
    processes.settle_collector()  # as the worker's: renders make many objects, briefly
    return app


def make_wsgi_app() -> WSGIApplication:
    """What the production server serves in each of its worker processes: ``make_app``'s
    WSGI stack itself (``Flask.wsgi_app``, its middleware outermost), so that no request
    pays for ``Flask.__call__``, which only hands it on."""
    wsgi_app: WSGIApplication = make_app().wsgi_app
    return wsgi_app


def run_granian(
    factory: str,
    *,
    host: str,
    port: int,
    workers: int,
    threads: int,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    header_timeout: int = DEFAULT_HEADER_TIMEOUT,
    backlog: int = DEFAULT_BACKLOG,
) -> None:
    """Serve the WSGI app ``factory`` (``module:function``) makes in each worker process with
    granian, on ``serve``'s settings, until stopped (``bench.serve_throughput`` runs its
    constant-bytes floor with it too)."""
    from granian import Granian  # noqa: PLC0415  (only serving needs it)
    from granian.constants import HTTPModes, Interfaces  # noqa: PLC0415
    from granian.http import HTTP1Settings  # noqa: PLC0415

    Granian(
        factory,
        factory=True,
        interface=Interfaces.WSGI,
        address=host,
        port=port,
        workers=workers,
        blocking_threads=threads,
        log_access=False,
        http=HTTPModes.http1,  # whose header timeout also closes connections that send nothing
        backlog=backlog,
        backpressure=max_connections,
        http1_settings=HTTP1Settings(header_read_timeout=header_timeout * 1000),
        respawn_failed_workers=True,  # else one dying ends them all (twice in 5 s still does)
    ).serve()


@cli.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Server processes.")  # fmt: skip
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 256),
              help="Threads per server process (each keeps a database connection).")  # fmt: skip
@click.option("--scheduler/--no-scheduler", default=True, show_default=True,
              help="Also refresh sources on schedule (one scheduler for all workers).")  # fmt: skip
@click.option("--max-connections", default=DEFAULT_MAX_CONNECTIONS, show_default=True,
              type=click.IntRange(16, 1_000_000),
              help="Connections each server process keeps open at most (more wait to be "
              "accepted).")  # fmt: skip
@click.option("--header-timeout", default=DEFAULT_HEADER_TIMEOUT, show_default=True,
              type=click.IntRange(1, 600),
              help="Seconds a connection may take to send a request's head, or stay idle "
              "before one, before it is closed.")  # fmt: skip
@click.option("--backlog", default=DEFAULT_BACKLOG, show_default=True,
              type=click.IntRange(128, 65_535),
              help="Connections the system queues before a server process takes them.")  # fmt: skip
def serve(
    *, config_path: str | None, host: str, port: int, workers: int, threads: int, scheduler: bool,
    max_connections: int, header_timeout: int, backlog: int,
) -> None:  # fmt: skip
    """Serve the feeds (and refresh the sources) until stopped (Ctrl-C).

    A scheduler (feedpub worker) or server process that dies is started again; all of them
    end when this one does, even when it is killed."""
    config = load(config_path)
    open_ledger(config).close()  # the schema is checked (or created) once, before the workers
    os.environ[CONFIG_ENV] = str(config.path.resolve())
    os.environ[DATABASE_ENV] = config.database_url
    os.environ[THREADS_ENV] = str(threads)
    os.environ[processes.PARENT_ENV] = str(os.getpid())
    # the server processes and the worker count into files there, read back by /metrics
    made = metrics.prepare_multiprocess_directory() if config.metrics.enabled else None
    processes.raise_open_files(max_connections + 256)  # and database connections, logs ...
    command = [sys.executable, "-m", "server", "worker", "--config", str(config.path.resolve())]
    refresher = processes.Supervised("feedpub worker", command).start() if scheduler else None
    click.echo(f"feedpub: serving {len(config.topics)} topics on http://{host}:{port}/", err=True)
    try:
        run_granian(
            "server:make_wsgi_app",
            host=host,
            port=port,
            workers=workers,
            threads=threads,
            max_connections=max_connections,
            header_timeout=header_timeout,
            backlog=backlog,
        )
    finally:
        if refresher is not None:
            refresher.stop()
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
    click.echo("feedpub: stopped", err=True)


@cli.group()
def db() -> None:
    """The database's schema: which revision it is at, and migrations to the one this
    feedpub needs. The database is $FEEDPUB_DATABASE_URL (default sqlite:///feedpub.db)."""


@db.command("upgrade")
@config_option
def db_upgrade(config_path: str | None) -> None:
    """Apply the schema migrations the database has not had, and say which."""
    with schema_engine(load(config_path)) as engine:
        done = schema.upgrade(engine)
    for line in done.report(shown_url(engine.url)):
        click.echo(line)


@db.command("current")
@config_option
def db_current(config_path: str | None) -> None:
    """Print the revision the database's schema is at (none: no schema yet)."""
    with schema_engine(load(config_path)) as engine, engine.connect() as connection:
        click.echo(schema.revision_report(schema.current_revision(connection)))


def main() -> None:
    """The ``feedpub`` console command."""
    cli(prog_name="feedpub")


if __name__ == "__main__":
    main()

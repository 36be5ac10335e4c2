"""Rendering listing pages in the system's headless Chromium (``render = "browser"``), through
Playwright; one browser per worker process, started on first use, shared by every refresh.

The page's own document is fetched by the ``Fetcher`` (its host's turn, its User-Agent, its
address rules and size cap) and handed to the browser; every other request the page makes is
checked here (``feeds.refresh.browser_requests``). Every failure is a ``RenderError``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import secrets
import signal
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from feeds.config import BrowserConfig
from feeds.config.settings import CHROMIUM_ENV, DEFAULT_CHROMIUM
from feeds.errors import BrowserUnavailableError, FetchError, RenderError
from feeds.refresh.browser_requests import PageRules, Sentry
from feeds.refresh.fetch import Document, Fetcher
from feeds.refresh.network import SLICE_SECONDS, StoppedError

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, Playwright

logger = logging.getLogger(__name__)

#: How long past a page's own time limit the caller waits before it takes the browser for
#: hung, and kills it.
HANG_GRACE_SECONDS = 10.0
#: How long starting the browser may take.
LAUNCH_TIMEOUT_SECONDS = 30.0
INSTALL_HINT = (
    "install Debian's chromium (apt-get install chromium) or set [browser] executable "
    "(or $FEEDPUB_CHROMIUM) to a Chromium, and the Python package playwright "
    "(pip install 'feedpub[browser]'); no browser is downloaded"
)
T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderRequest:
    """One page to render, and how: a selector to wait for, a time limit, what it may load."""

    url: str
    wait_for: str = ""
    timeout_seconds: float = 30.0
    images: bool = False
    same_site_only: bool = False


def process_tree(root: int, proc: Path = Path("/proc")) -> list[int]:
    """``root`` and every process descending from it, read from /proc (empty when ``root``
    is gone)."""
    children: dict[int, list[int]] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    if not (proc / str(root)).exists():
        return []
    tree, stack = [], [root]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, ()))
    return tree


def resident_bytes(pids: list[int], proc: Path = Path("/proc")) -> int:
    """The memory these processes hold together: the sum of their proportional set sizes
    (a page shared by n of them counts 1/n in each), or of their resident sizes where /proc
    gives no ``smaps_rollup``; those gone count nothing."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in pids:
        try:
            rollup = (proc / str(pid) / "smaps_rollup").read_text()
        except OSError:
            rollup = ""
        pss = next((line.split()[1] for line in rollup.splitlines() if line.startswith("Pss:")), "")
        try:
            if pss.isdigit():
                total += int(pss) * 1024
            else:
                total += int((proc / str(pid) / "statm").read_text().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
    return total


def alive(pid: int, proc: Path = Path("/proc")) -> bool:
    """True while the process runs (not gone, not a zombie waiting to be reaped)."""
    try:
        stat = (proc / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _marked(marker: str, proc: Path = Path("/proc")) -> int | None:
    """The process whose command line holds ``marker`` (the browser this renderer started)."""
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker.encode() in arguments:
            return int(entry.name)
    return None


class Renderer:
    """Renders pages in one headless Chromium, ``max_pages`` at a time, each within its time
    limit; the browser is started on first use, and killed and started again when it crashed,
    hung past a page's limit, or holds more than ``max_memory_mb``. Thread-safe: Playwright
    runs on a thread of its own, with its own event loop."""

    def __init__(self, config: BrowserConfig | None = None) -> None:
        self.config = config or BrowserConfig(
            executable=os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._pages: asyncio.Semaphore | None = None
        self._starting: asyncio.Lock | None = None
        self._active = 0
        #: The browser's main process, while it runs.
        self.pid: int | None = None
        #: How many times a browser was started (a restart counts one more).
        self.launches = 0

    def render(
        self,
        request: RenderRequest,
        *,
        fetcher: Fetcher,
        source: str,
        follows: Document | None = None,
    ) -> Document:
        """The page as the browser shows it once settled (its DOM, serialized), as a
        ``Document`` of the URL it came from; ``RenderError`` naming ``source`` otherwise.
        The page's document is fetched first, by ``fetcher``, in the calling thread
        (``follows``: as a link of that document, held to its source's rules); the time
        limit runs from when the page has its turn in the browser (``max_pages``)."""
        document = _fetch_document(fetcher, request.url, follows)
        agent = fetcher.client.headers.get("User-Agent", "")
        turn = threading.Event()  # set once the page has its turn in the browser
        future = self._submit(self._render(request, document, agent, source, turn))
        while not turn.wait(SLICE_SECONDS) and not future.done():
            if fetcher.stopping.is_set():
                future.cancel()
                raise StoppedError("stopping: rendering abandoned")
        limit = request.timeout_seconds + LAUNCH_TIMEOUT_SECONDS + HANG_GRACE_SECONDS
        try:
            return future.result(timeout=limit)
        except concurrent.futures.TimeoutError as error:
            future.cancel()
            logger.warning("browser hung rendering %s: killing it", source)
            self.kill()
            raise RenderError(
                source, f"the browser hung (no answer in {limit:g} seconds)"
            ) from error

    def kill(self) -> None:
        """Kill the browser's processes now (it is started again for the next page)."""
        pid = self.pid
        self.pid = None
        if pid is None:
            return
        for each in process_tree(pid):
            try:
                os.kill(each, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                continue

    def memory_bytes(self) -> int:
        """The resident memory of the browser's processes together (0 when none runs)."""
        return resident_bytes(process_tree(self.pid)) if self.pid is not None else 0

    def close(self) -> None:
        """Close the browser and Playwright, and end the renderer's thread."""
        with self._guard:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=15)
        except (concurrent.futures.TimeoutError, Exception):  # a dead browser: kill it
            logger.warning("browser did not close: killing it", exc_info=True)
            self.kill()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        if not thread.is_alive():
            loop.close()

    def _submit(self, work: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        with self._guard:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="feedpub-browser", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return asyncio.run_coroutine_threadsafe(work, self._loop)

    async def _shutdown(self) -> None:
        if self._browser is not None:
            await self._browser.close()
        if self._playwright is not None:
            await self._playwright.stop()
        self._browser = self._playwright = None
        self.pid = None

    async def _render(
        self,
        request: RenderRequest,
        document: Document,
        agent: str,
        source: str,
        turn: threading.Event,
    ) -> Document:
        if self._pages is None:
            self._pages = asyncio.Semaphore(self.config.max_pages)
        async with self._pages:
            turn.set()
            self._active += 1
            try:
                browser = await self._running_browser(source)
                return await asyncio.wait_for(
                    self._page(browser, request, document, agent, source),
                    request.timeout_seconds,
                )
            except TimeoutError as error:
                raise RenderError(
                    source,
                    f"did not settle in {request.timeout_seconds:g} seconds "
                    "(render_timeout_seconds; or wait_for an element the page shows)",
                ) from error
            finally:
                self._active -= 1
                self._bound_memory()

    def _bound_memory(self) -> None:
        """Kill the browser when it holds more than its bound and no page is rendering."""
        used = self.memory_bytes()
        if self._active == 0 and used > self.config.max_memory_mb * 1024 * 1024:
            logger.warning(
                "browser holds %d MB, more than [browser] max_memory_mb = %d: restarting it",
                used // (1024 * 1024), self.config.max_memory_mb,
            )  # fmt: skip
            self.kill()

    async def _running_browser(self, source: str) -> Browser:
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            running = self.pid is not None and alive(self.pid)
            if self._browser is not None and self._browser.is_connected() and running:
                return self._browser
            if self._browser is not None:
                self.kill()
                self._browser = None
            if self._playwright is None:
                try:
                    from playwright.async_api import async_playwright  # noqa: PLC0415  (optional)
                except ImportError as error:
                    raise BrowserUnavailableError(
                        source, f"render = 'browser' needs Playwright: {INSTALL_HINT}"
                    ) from error
                self._playwright = await async_playwright().start()
            self._browser = await self._launch(self._playwright, source)
            return self._browser

    async def _launch(self, playwright: Playwright, source: str) -> Browser:
        from playwright.async_api import Error  # noqa: PLC0415  (an optional dependency)

        executable = self.config.executable
        if not Path(executable).is_file() or not os.access(executable, os.X_OK):
            raise BrowserUnavailableError(
                source, f"render = 'browser': no browser at {executable}: {INSTALL_HINT}"
            )
        marker = f"--feedpub-renderer={os.getpid()}-{secrets.token_hex(6)}"
        try:
            browser = await playwright.chromium.launch(
                executable_path=executable,
                headless=True,
                args=[marker, "--disable-breakpad", "--no-first-run"],
                timeout=LAUNCH_TIMEOUT_SECONDS * 1000,
            )
        except Error as error:
            raise BrowserUnavailableError(
                source, f"the browser at {executable} did not start: {error.message}"
            ) from error
        self.pid = _marked(marker)
        self.launches += 1
        logger.info("browser started: %s (pid %s)", executable, self.pid)
        return browser

    async def _page(
        self,
        browser: Browser,
        request: RenderRequest,
        document: Document,
        agent: str,
        source: str,
    ) -> Document:
        from playwright.async_api import Error  # noqa: PLC0415  (an optional dependency)
        from playwright.async_api import TimeoutError as PageTimeoutError  # noqa: PLC0415

        rules = PageRules(
            document=document, images=request.images, same_site_only=request.same_site_only
        )
        try:
            context = await browser.new_context(
                user_agent=agent,
                accept_downloads=False,
                service_workers="block",
                permissions=[],
                java_script_enabled=True,
            )
        except Error as error:
            raise RenderError(source, f"the browser crashed: {error.message}") from error
        try:
            sentry = Sentry(rules)
            await context.route("**/*", sentry.handle)
            page = await context.new_page()
            await self._load(page, request, document)
            html = await page.content()
        except PageTimeoutError as error:
            raise TimeoutError(error.message) from error
        except Error as error:
            if not browser.is_connected():
                raise RenderError(source, f"the browser crashed: {error.message}") from error
            raise RenderError(source, f"the page could not be rendered: {error.message}") from error
        finally:
            if browser.is_connected():
                try:
                    await context.close()
                except Error:
                    logger.debug("context of %s already closed", source)
        if sentry.refused:
            logger.info("source %s: %d requests refused, first %s", source, len(sentry.refused),
                        sentry.refused[0])  # fmt: skip
        return Document(
            url=document.url,
            content=html.encode("utf-8"),
            content_type="text/html; charset=utf-8",
            charset="utf-8",
            reach=document.reach,
            site=document.site,
            waited_seconds=document.waited_seconds,
        )

    @staticmethod
    async def _load(page: Page, request: RenderRequest, document: Document) -> None:
        timeout = request.timeout_seconds * 1000
        if request.wait_for:
            await page.goto(document.url, wait_until="domcontentloaded", timeout=timeout)
            await page.wait_for_selector(request.wait_for, state="attached", timeout=timeout)
        else:
            await page.goto(document.url, wait_until="networkidle", timeout=timeout)


def _fetch_document(fetcher: Fetcher, url: str, follows: Document | None) -> Document:
    started = time.monotonic()
    answer = fetcher.fetch(url, follows=follows)
    if not isinstance(answer, Document):
        raise FetchError(url, "HTTP 304 Not Modified to an unconditional request")
    logger.debug("%s fetched for the browser in %.2f s", url, time.monotonic() - started)
    return answer


def render_document(location: str, config: BrowserConfig | None = None) -> Document:
    """Render one page, once (for ``feedpub preview --render browser``)."""
    renderer = Renderer(config)
    try:
        with Fetcher() as fetcher:
            return renderer.render(RenderRequest(url=location), fetcher=fetcher, source=location)
    finally:
        renderer.close()

"""Source keys of ``render = "browser"`` (``render``, ``wait_for``, ``render_timeout_seconds``,
``render_images``, ``render_same_site_only``) and the ``[browser]`` table: defaults, values,
and what is refused with which message."""

from __future__ import annotations

from pathlib import Path

import pytest

from feeds.config import BrowserConfig
from feeds.errors import ConfigError
from tests.test_config import PUBLISHER, config_error, load, source


def test_a_source_is_read_as_fetched_and_the_browser_is_the_systems_by_default(
    tmp_path: Path,
) -> None:
    config = load(tmp_path, PUBLISHER + source())
    (news,) = config.sources
    assert (news.render, news.wait_for, news.render_timeout_seconds) == ("", "", 30.0)
    assert (news.render_images, news.render_same_site_only) == (False, False)
    assert config.browser == BrowserConfig(
        executable="/usr/bin/chromium", max_pages=4, max_memory_mb=1024
    )


def test_a_rendered_source_takes_its_selector_limit_and_what_it_may_load(
    tmp_path: Path,
) -> None:
    extra = (
        'render = "browser"\nwait_for = "article.card h2"\nrender_timeout_seconds = 12\n'
        "render_images = true\nrender_same_site_only = true\n"
    )
    text = PUBLISHER + source(extra=extra)
    text += '[browser]\nexecutable = "/opt/chromium/chrome"\nmax_pages = 2\nmax_memory_mb = 512\n'
    config = load(tmp_path, text)
    (news,) = config.sources
    assert (news.render, news.wait_for, news.render_timeout_seconds) == (
        "browser", "article.card h2", 12.0,
    )  # fmt: skip
    assert (news.render_images, news.render_same_site_only) == (True, True)
    assert config.browser == BrowserConfig(
        executable="/opt/chromium/chrome", max_pages=2, max_memory_mb=512
    )


def test_the_browser_may_be_named_by_the_environment(tmp_path: Path) -> None:
    config = load(tmp_path, PUBLISHER, environ={"FEEDPUB_CHROMIUM": "/usr/lib/chromium/chromium"})
    assert config.browser.executable == "/usr/lib/chromium/chromium"


def test_defaults_may_render_every_source(tmp_path: Path) -> None:
    text = PUBLISHER + '[defaults]\nrender = "browser"\nrender_timeout_seconds = 5\n' + source()
    (news,) = load(tmp_path, text).sources
    assert (news.render, news.render_timeout_seconds) == ("browser", 5.0)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            'render = "chrome"\n',
            "sources[0].render: expected 'browser' (or no render key), got 'chrome'",
        ),
        ('wait_for = "article"\n', 'sources[0].wait_for: is used only with render = "browser"'),
        (
            "render_images = true\n",
            'sources[0].render_images: is used only with render = "browser"',
        ),
        (
            'render = "browser"\nwait_for = "article["\n',
            "sources[0].wait_for: not a CSS selector: 'article['",
        ),
        (
            'render = "browser"\nrender_timeout_seconds = 0\n',
            "sources[0].render_timeout_seconds: must be between 1 and 600, got 0.0",
        ),
        (
            'render = "browser"\nrender_same_site_only = "yes"\n',
            "sources[0].render_same_site_only: expected bool, got 'yes'",
        ),
    ],
)
def test_render_keys_are_refused_with_what_is_wrong(
    tmp_path: Path, extra: str, message: str
) -> None:
    assert config_error(tmp_path, PUBLISHER + source(extra=extra)).startswith(message)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("max_pages = 0\n", "browser.max_pages: must be between 1 and 64, got 0"),
        ("max_memory_mb = 64\n", "browser.max_memory_mb: must be between 128 and 65536, got 64"),
        ('executable = ""\n', "browser.executable: must not be empty"),
        ("headless = false\n", "browser.headless: unknown key"),
    ],
)
def test_browser_table_values_are_refused_with_what_is_wrong(
    tmp_path: Path, table: str, message: str
) -> None:
    assert config_error(tmp_path, PUBLISHER + "[browser]\n" + table) == message


def test_a_feed_source_is_not_rendered(tmp_path: Path) -> None:
    text = PUBLISHER + source(extra='kind = "feed"\nrender = "browser"\n')
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, text, kinds=frozenset({"ilo", "html", "feed"}))
    assert str(raised.value).endswith(
        "sources[0].render: a 'feed' source is not rendered: render is for kinds reading "
        "HTML (ilo, html)"
    )

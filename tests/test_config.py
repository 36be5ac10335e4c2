"""The configuration loader: the bundled and example configs, validation errors that name the
file, the key path and the fault, defaults, the environment, and where the config is found."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname
from zoneinfo import ZoneInfo

import pytest

from feeds.config import (
    CONFIG_ENV,
    DATABASE_ENV,
    DEFAULT_DATABASE_URL,
    Config,
    SchedulerConfig,
    ServingLimits,
    bundled_config_path,
    find_config_path,
    load_config,
    parse_config,
)
from feeds.errors import ConfigError, FeedpubError
from feeds.model import Entry
from sources import ilo
from tests.conftest import ROOT, make_context

KINDS = frozenset({"ilo"})
EXAMPLE = ROOT / "examples" / "ilo-live.toml"
PUBLISHER = '[publisher]\nname = "Test feeds"\n'


def source(source_id: str = "news", extra: str = "") -> str:
    """A valid ``[[sources]]`` table, with extra lines appended."""
    return (
        f'[[sources]]\nid = "{source_id}"\ntitle = "News"\n'
        f'url = "https://www.example.org/{source_id}/lang--en/index.htm"\n{extra}'
    )


def topic(topic_id: str = "all", extra: str = "") -> str:
    """A valid ``[[topics]]`` table, with extra lines appended."""
    return f'[[topics]]\nid = "{topic_id}"\ntitle = "All news"\n{extra}'


def write(folder: Path, text: str, name: str = "feedpub.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def load(
    folder: Path, text: str, environ: Mapping[str, str] | None = None, kinds: frozenset[str] = KINDS
) -> Config:
    return load_config(write(folder, text), adapter_kinds=kinds, environ=environ or {})


def config_error(folder: Path, text: str) -> str:
    """The message of the error loading ``text`` raises, after its ``<file>: `` prefix."""
    path = write(folder, text)
    with pytest.raises(ConfigError) as raised:
        load_config(path, adapter_kinds=KINDS, environ={})
    message = str(raised.value)
    assert message.startswith(f"{path}: "), message
    return message.removeprefix(f"{path}: ")


def file_path(url: str) -> Path:
    parts = urlsplit(url)
    assert parts.scheme == "file"
    assert parts.netloc == ""
    return Path(url2pathname(parts.path))


# --- the bundled default config -------------------------------------------------------------


def test_bundled_config_is_the_toml_beside_the_samples() -> None:
    path = bundled_config_path()
    assert path == ROOT / "sources" / "samples" / "feedpub.toml"
    assert path.is_file()


def test_bundled_config_serves_the_three_samples_from_their_files() -> None:
    config = load_config(bundled_config_path(), adapter_kinds=KINDS, environ={})
    samples = ROOT / "sources" / "samples"
    assert config.publisher.name == "Northfield Labour Office news feeds"
    assert config.publisher.contact == "mailto:feeds@northfield.example"
    assert config.publisher.language == "en"
    assert config.publisher.base_url == ""
    expected = {
        "newsroom": (
            "hq-news.html",
            "https://news.northfield.example/newsroom/lang--en/index.htm",
            "Europe/Zurich",
            "en",
        ),
        "dakar": (
            "bureau-afrique-actualites.txt",
            "https://news.northfield.example/dakar/actualites/lang--fr/index.htm",
            "Africa/Dakar",
            "fr",
        ),
        "lima": (
            "oficina-andina-noticias.txt",
            "https://news.northfield.example/lima/noticias/lang--es/index.htm",
            "America/Lima",
            "es",
        ),
    }
    assert [s.id for s in config.sources] == list(expected)
    for source_config in config.sources:
        file_name, public_url, zone, language = expected[source_config.id]
        assert source_config.url == (samples / file_name).resolve().as_uri()
        assert file_path(source_config.url).is_file()
        assert source_config.public_url == public_url
        assert source_config.page_url == public_url
        assert source_config.timezone == ZoneInfo(zone)
        assert source_config.language == language
        assert source_config.kind == "ilo"
        assert source_config.refresh_minutes == 30
        assert source_config.title


def test_bundled_config_has_a_topic_per_source_and_cross_cutting_topics() -> None:
    config = load_config(bundled_config_path(), adapter_kinds=KINDS, environ={})
    topics = {t.id: t for t in config.topics}
    assert {"newsroom", "dakar", "lima"} <= set(topics)
    assert {
        "press-releases",
        "events",
        "youth-employment",
        "social-protection",
        "climate-and-green-jobs",
        "all-news",
    } <= set(topics)
    assert len(topics) == len(config.topics)
    source_ids = {s.id for s in config.sources}
    for one in config.topics:
        assert one.title
        assert one.description.endswith(".")
        assert set(one.sources) <= source_ids
    for source_id in source_ids:
        assert topics[source_id].sources == (source_id,)
    assert topics["press-releases"].labels == (
        "Press release",
        "Communiqué de presse",
        "Comunicado de prensa",
    )
    assert topics["events"].labels == ("Event", "Événement", "Evento")
    for cross_cutting in ("youth-employment", "social-protection", "climate-and-green-jobs"):
        assert topics[cross_cutting].keywords
        assert len(topics[cross_cutting].sources) > 1
    everything = topics["all-news"]
    assert (everything.sources, everything.labels, everything.keywords) == ((), (), ())
    assert everything.exclude_labels == ("Media advisory", "Avis aux médias")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _has_word(text: str, word: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(_fold(word))}(?!\w)", _fold(text)) is not None


def _sample_entries(config: Config) -> dict[str, tuple[Entry, ...]]:
    entries = {}
    for one in config.sources:
        context = make_context(page_url=one.page_url, timezone=str(one.timezone), source_id=one.id)
        entries[one.id] = ilo.parse(file_path(one.url).read_bytes(), context).entries
    return entries


def test_every_bundled_topic_filter_selects_at_least_two_sample_entries() -> None:
    """Labels match case-insensitively, keywords as whole words in title or summary, ignoring
    case and accents (as documented on ``TopicConfig``)."""
    config = load_config(bundled_config_path(), adapter_kinds=KINDS, environ={})
    entries = _sample_entries(config)
    all_labels = {
        label.casefold() for found in entries.values() for e in found for label in e.labels
    }
    for one in config.topics:
        for label in (*one.labels, *one.exclude_labels):
            assert label.casefold() in all_labels, (one.id, label)
        selected = [
            entry
            for source_id in one.sources or tuple(entries)
            for entry in entries[source_id]
            if (
                not one.labels
                or {x.casefold() for x in one.labels} & {x.casefold() for x in entry.labels}
            )
            and not {x.casefold() for x in one.exclude_labels}
            & {x.casefold() for x in entry.labels}
            and (
                not one.keywords
                or any(_has_word(f"{entry.title} {entry.summary}", k) for k in one.keywords)
            )
        ]
        assert len(selected) >= 2, one.id
        if len(one.sources) != 1:
            assert len({e.source_id for e in selected}) >= 2, one.id


# --- the example config for live pages -----------------------------------------------------


def test_example_live_config_loads_with_polite_fetching_and_defaults() -> None:
    config = load_config(EXAMPLE, adapter_kinds=KINDS, environ={})
    assert config.publisher.base_url == "https://feeds.example.org"
    assert config.publisher.contact == "mailto:feeds@example.org"
    assert config.fetch.host_spacing_seconds == 5.0
    sources = {s.id: s for s in config.sources}
    assert (
        sources["ilo-geip"].url == "https://www.ilo.org/global/topics/geip/news/lang--en/index.htm"
    )
    assert (
        sources["ilo-newsroom"].url
        == "https://www.ilo.org/global/about-the-ilo/newsroom/news/lang--en/index.htm"
    )
    jakarta = [s for s in config.sources if "/jakarta/" in s.url]
    paris = [s for s in config.sources if "/paris/" in s.url]
    assert [s.url for s in jakarta] == [
        "https://www.ilo.org/jakarta/info/public/news/lang--en/index.htm"
    ]
    assert [s.url for s in paris] == ["https://www.ilo.org/paris/actualites/lang--fr/index.htm"]
    assert jakarta[0].timezone == ZoneInfo("Asia/Jakarta")
    assert (paris[0].timezone, paris[0].language) == (ZoneInfo("Europe/Paris"), "fr")
    assert sources["ilo-newsroom"].timezone == ZoneInfo("Europe/Zurich")
    for live in config.sources:
        assert live.page_limit == 2
        assert live.kind == "ilo"
        assert urlsplit(live.url).scheme == "https"
    assert sources["ilo-newsroom"].refresh_minutes == 60
    assert 3 <= len(config.topics) <= 4
    for feed in config.topics:
        assert set(feed.sources) <= set(sources)
        assert feed.title
        assert feed.description


# --- a minimal config and the defaults -----------------------------------------------------


def test_a_config_needs_only_a_publisher_name(tmp_path: Path) -> None:
    config = load(tmp_path, PUBLISHER)
    assert config.path == tmp_path / "feedpub.toml"
    assert config.publisher.name == "Test feeds"
    assert (config.publisher.base_url, config.publisher.contact) == ("", "")
    assert config.publisher.language == "en"
    assert (config.sources, config.topics) == ((), ())
    assert config.fetch.timeout_seconds == 30.0
    assert config.fetch.connect_timeout_seconds == 10.0
    assert config.fetch.max_bytes == 5 * 1024 * 1024
    assert config.fetch.host_spacing_seconds == 2.0
    assert config.fetch.max_backoff_minutes == 24 * 60


def test_a_source_without_defaults_gets_the_built_in_values(tmp_path: Path) -> None:
    (news,) = load(tmp_path, PUBLISHER + source()).sources
    assert news.kind == "ilo"
    assert news.timezone == ZoneInfo("Europe/Zurich")
    assert (news.refresh_minutes, news.page_limit) == (60, 1)
    assert (news.keep_at_least, news.max_age_days) == (100, 365)
    assert (news.language, news.public_url) == ("en", "")
    assert news.page_url == news.url


def test_defaults_apply_to_sources_and_each_source_can_override_them(tmp_path: Path) -> None:
    text = (
        PUBLISHER
        + "[defaults]\n"
        + 'timezone = "Asia/Jakarta"\nrefresh_minutes = 15\npage_limit = 3\n'
        + 'keep_at_least = 20\nmax_age_days = 90\nkind = "ilo"\n'
        + source("plain")
        + source(
            "own",
            'timezone = "America/Lima"\nrefresh_minutes = 120\npage_limit = 1\n'
            'keep_at_least = 0\nmax_age_days = 10\nkind = "rss"\nlanguage = "es"\n',
        )
    )
    plain, own = load(tmp_path, text, kinds=frozenset({"ilo", "rss"})).sources
    assert plain.timezone == ZoneInfo("Asia/Jakarta")
    assert (plain.refresh_minutes, plain.page_limit) == (15, 3)
    assert (plain.keep_at_least, plain.max_age_days, plain.kind) == (20, 90, "ilo")
    assert own.timezone == ZoneInfo("America/Lima")
    assert (own.refresh_minutes, own.page_limit) == (120, 1)
    assert (own.keep_at_least, own.max_age_days, own.kind, own.language) == (0, 10, "rss", "es")


def test_a_refresh_interval_is_given_in_minutes_or_in_seconds(tmp_path: Path) -> None:
    text = (
        PUBLISHER
        + "[defaults]\nrefresh_seconds = 30\n"
        + source("inherits")
        + source("minutes", "refresh_minutes = 15\n")
        + source("seconds", "refresh_seconds = 5\n")
    )
    inherits, minutes, seconds = load(tmp_path, text).sources
    assert inherits.refresh_interval == dt.timedelta(seconds=30)
    assert minutes.refresh_interval == dt.timedelta(minutes=15)  # overrides the default
    assert seconds.refresh_interval == dt.timedelta(seconds=5)
    assert load(tmp_path, PUBLISHER + source()).sources[0].refresh_interval == dt.timedelta(hours=1)


def test_the_scheduler_table_sets_threads_and_leases(tmp_path: Path) -> None:
    assert load(tmp_path, PUBLISHER).scheduler == SchedulerConfig(threads=4, lease_seconds=120)
    config = load(tmp_path, PUBLISHER + "[scheduler]\nthreads = 16\nlease_seconds = 30\n")
    assert config.scheduler == SchedulerConfig(threads=16, lease_seconds=30)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            PUBLISHER + source(extra="refresh_minutes = 5\nrefresh_seconds = 30\n"),
            "sources[0].refresh_seconds: give refresh_minutes or refresh_seconds, not both",
            id="both",
        ),
        pytest.param(
            PUBLISHER + "[defaults]\nrefresh_minutes = 5\nrefresh_seconds = 30\n",
            "defaults.refresh_seconds: give refresh_minutes or refresh_seconds, not both",
            id="both-in-defaults",
        ),
        pytest.param(
            PUBLISHER + source(extra="refresh_seconds = 1\n"),
            "sources[0].refresh_seconds: must be between 5 and 604800, got 1",
            id="too-often",
        ),
        pytest.param(
            PUBLISHER + "[scheduler]\nlease_seconds = 1\n",
            "scheduler.lease_seconds: must be between 3 and 86400, got 1",
            id="short-lease",
        ),
        pytest.param(
            PUBLISHER + "[scheduler]\nthreads = 0\n",
            "scheduler.threads: must be between 1 and 64, got 0",
            id="no-threads",
        ),
        pytest.param(
            PUBLISHER + "[scheduler]\nworkers = 3\n", "scheduler.workers: unknown key", id="key"
        ),
    ],
)
def test_bad_intervals_and_scheduler_settings_are_refused(
    tmp_path: Path, text: str, message: str
) -> None:
    assert config_error(tmp_path, text) == message


def test_a_topic_gets_default_values(tmp_path: Path) -> None:
    (everything,) = load(tmp_path, PUBLISHER + topic()).topics
    assert everything.description == ""
    assert everything.sources == everything.labels == everything.exclude_labels == ()
    assert everything.keywords == ()
    assert (everything.limit, everything.image) == (50, "")


def test_text_values_are_stripped_and_lists_become_tuples(tmp_path: Path) -> None:
    text = (
        '[publisher]\nname = "  Feeds  "\nbase_url = "https://feeds.example.org/"\n'
        + source(extra='public_url = "https://www.example.org/news/"\n')
        + topic(extra='sources = ["news"]\nlabels = [" Press release "]\nkeywords = ["youth"]\n')
    )
    config = load(tmp_path, text)
    assert config.publisher.name == "Feeds"
    assert config.publisher.base_url == "https://feeds.example.org"
    assert config.sources[0].page_url == "https://www.example.org/news/"
    assert config.topics[0].sources == ("news",)
    assert config.topics[0].labels == ("Press release",)
    assert config.topics[0].keywords == ("youth",)


def test_whole_numbers_are_accepted_for_seconds(tmp_path: Path) -> None:
    config = load(tmp_path, PUBLISHER + "[fetch]\ntimeout_seconds = 5\nhost_spacing_seconds = 0\n")
    assert config.fetch.timeout_seconds == 5.0
    assert isinstance(config.fetch.timeout_seconds, float)
    assert config.fetch.host_spacing_seconds == 0.0


def test_range_limits_themselves_are_accepted(tmp_path: Path) -> None:
    text = (
        PUBLISHER
        + "[fetch]\ntimeout_seconds = 0.1\nmax_bytes = 1024\nmax_backoff_minutes = 43200\n"
        + source(
            "low", "refresh_minutes = 1\npage_limit = 1\nkeep_at_least = 0\nmax_age_days = 1\n"
        )
        + source(
            "high",
            "refresh_minutes = 10080\npage_limit = 100\nkeep_at_least = 100000\n"
            "max_age_days = 36500\n",
        )
        + topic("one", "limit = 1\n")
        + topic("many", "limit = 500\n")
    )
    config = load(tmp_path, text)
    assert config.sources[1].refresh_minutes == 7 * 24 * 60
    assert [t.limit for t in config.topics] == [1, 500]


def test_ids_of_64_lowercase_letters_digits_dashes_and_underscores_are_accepted(
    tmp_path: Path,
) -> None:
    long_id = "a" * 64
    text = PUBLISHER + source("news_2-fr") + source(long_id) + topic("0-all_news")
    config = load(tmp_path, text)
    assert [s.id for s in config.sources] == ["news_2-fr", long_id]
    assert config.topics[0].id == "0-all_news"


def test_a_source_and_a_topic_may_share_an_id(tmp_path: Path) -> None:
    config = load(tmp_path, PUBLISHER + source("news") + topic("news", 'sources = ["news"]\n'))
    assert config.source("news").id == config.topics[0].id == "news"


def test_config_source_finds_a_source_by_id_or_raises_lookup_error(tmp_path: Path) -> None:
    config = load(tmp_path, PUBLISHER + source("a") + source("b"))
    assert config.source("b").id == "b"
    with pytest.raises(LookupError, match=r"no source 'c' in .*feedpub\.toml$"):
        config.source("c")


def test_adapter_kinds_are_whatever_the_caller_passes(tmp_path: Path) -> None:
    config = load(tmp_path, PUBLISHER + source(extra='kind = "rss"\n'), kinds=frozenset({"rss"}))
    assert config.sources[0].kind == "rss"


# --- file: URLs ------------------------------------------------------------------------------


def test_relative_file_urls_are_resolved_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    folder = tmp_path / "conf"
    text = (
        PUBLISHER
        + '[[sources]]\nid = "a"\ntitle = "A"\nurl = "file:pages/news.html"\n'
        + '[[sources]]\nid = "b"\ntitle = "B"\nurl = "file:../shared/news.txt"\n'
        + '[[sources]]\nid = "c"\ntitle = "C"\nurl = "file:news.html"\n'
    )
    a, b, c = load(folder, text).sources
    assert a.url == (folder / "pages" / "news.html").resolve().as_uri()
    assert b.url == (tmp_path / "shared" / "news.txt").resolve().as_uri()
    assert c.url == (folder / "news.html").resolve().as_uri()


def test_a_relative_config_path_resolves_file_urls_against_its_absolute_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, PUBLISHER + '[[sources]]\nid = "a"\ntitle = "A"\nurl = "file:news.html"\n')
    monkeypatch.chdir(tmp_path)
    config = load_config(Path("feedpub.toml"), adapter_kinds=KINDS, environ={})
    assert config.sources[0].url == (tmp_path / "news.html").resolve().as_uri()


def test_absolute_file_urls_are_kept(tmp_path: Path) -> None:
    page = (tmp_path / "pages" / "news.html").resolve()
    text = (
        PUBLISHER
        + f'[[sources]]\nid = "a"\ntitle = "A"\nurl = "{page.as_uri()}"\n'
        + f'[[sources]]\nid = "b"\ntitle = "B"\nurl = "file://localhost{page.as_posix()}"\n'
    )
    a, b = load(tmp_path / "conf", text).sources
    assert a.url == b.url == page.as_uri()


def test_http_urls_are_kept_as_written(tmp_path: Path) -> None:
    url = "HTTPS://www.example.org/news/lang--en/index.htm?page=2#top"
    (news,) = load(
        tmp_path, PUBLISHER + f'[[sources]]\nid = "a"\ntitle = "A"\nurl = "{url}"\n'
    ).sources
    assert news.url == url


# --- validation errors: each names the file, the key path and the fault ----------------------


def test_a_validation_error_is_a_config_error_and_a_value_error(tmp_path: Path) -> None:
    path = write(tmp_path, PUBLISHER + source() + source("mars", 'timezone = "Mars/Olympus"\n'))
    with pytest.raises(
        ConfigError,
        match=r"^.*feedpub\.toml: sources\[1\]\.timezone: unknown time zone 'Mars/Olympus'$",
    ) as raised:
        load_config(path, adapter_kinds=KINDS, environ={})
    assert isinstance(raised.value, ValueError)
    assert isinstance(raised.value, FeedpubError)


def test_parse_config_names_the_path_it_is_given(tmp_path: Path) -> None:
    path = tmp_path / "site" / "feeds.toml"
    with pytest.raises(ConfigError, match=r"^.*site/feeds\.toml: colour: unknown key$"):
        parse_config('colour = "red"\n' + PUBLISHER, path, adapter_kinds=KINDS, environ={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param('colour = "red"\n' + PUBLISHER, "colour: unknown key", id="top-level"),
        pytest.param(
            '[publisher]\nname = "x"\nlogo = "x.png"\n',
            "publisher.logo: unknown key",
            id="publisher",
        ),
        pytest.param(
            PUBLISHER + "[fetch]\nretries = 3\n", "fetch.retries: unknown key", id="fetch"
        ),
        pytest.param(
            PUBLISHER + '[defaults]\nlanguage = "fr"\n',
            "defaults.language: unknown key",
            id="defaults",
        ),
        pytest.param(
            PUBLISHER + source() + source("b", 'selector = "li"\n'),
            "sources[1].selector: unknown key",
            id="source",
        ),
        pytest.param(
            PUBLISHER + topic(extra='label = "Event"\n'), "topics[0].label: unknown key", id="topic"
        ),
        pytest.param(
            PUBLISHER + "[source]\nid = 'a'\n", "source: unknown key", id="singular-table-name"
        ),
    ],
)
def test_unknown_keys_are_named_with_their_path(tmp_path: Path, text: str, message: str) -> None:
    assert config_error(tmp_path, text) == message


def test_the_first_unknown_key_is_named_in_alphabetical_order(tmp_path: Path) -> None:
    assert config_error(tmp_path, "zebra = 1\napple = 2\n" + PUBLISHER) == "apple: unknown key"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("", "publisher.name: is required", id="empty-document"),
        pytest.param(
            '[publisher]\ncontact = "mailto:a@b.org"\n',
            "publisher.name: is required",
            id="publisher-name",
        ),
        pytest.param(
            PUBLISHER + '[[sources]]\ntitle = "A"\nurl = "https://a.org/"\n',
            "sources[0].id: is required",
            id="source-id",
        ),
        pytest.param(
            PUBLISHER + '[[sources]]\nid = "a"\nurl = "https://a.org/"\n',
            "sources[0].title: is required",
            id="source-title",
        ),
        pytest.param(
            PUBLISHER + source() + '[[sources]]\nid = "b"\ntitle = "B"\n',
            "sources[1].url: is required",
            id="source-url",
        ),
        pytest.param(
            PUBLISHER + '[[topics]]\ntitle = "All"\n', "topics[0].id: is required", id="topic-id"
        ),
        pytest.param(
            PUBLISHER + '[[topics]]\nid = "all"\n', "topics[0].title: is required", id="topic-title"
        ),
    ],
)
def test_missing_required_keys_are_named(tmp_path: Path, text: str, message: str) -> None:
    assert config_error(tmp_path, text) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            '[publisher]\nname = "  "\n', "publisher.name: must not be empty", id="publisher-name"
        ),
        pytest.param(
            '[publisher]\nname = "x"\nlanguage = ""\n',
            "publisher.language: must not be empty",
            id="publisher-language",
        ),
        pytest.param(
            PUBLISHER + '[[sources]]\nid = "a"\ntitle = ""\nurl = "https://a.org/"\n',
            "sources[0].title: must not be empty",
            id="source-title",
        ),
        pytest.param(
            PUBLISHER + '[[sources]]\nid = "a"\ntitle = "A"\nurl = " "\n',
            "sources[0].url: must not be empty",
            id="source-url",
        ),
        pytest.param(
            PUBLISHER + source(extra='language = ""\n'),
            "sources[0].language: must not be empty",
            id="source-language",
        ),
        pytest.param(
            PUBLISHER + '[[topics]]\nid = "all"\ntitle = "\\t"\n',
            "topics[0].title: must not be empty",
            id="topic-title",
        ),
    ],
)
def test_empty_required_text_is_refused(tmp_path: Path, text: str, message: str) -> None:
    assert config_error(tmp_path, text) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            'publisher = "Feeds"\n',
            "publisher: expected a table, got str",
            id="publisher-not-table",
        ),
        pytest.param(
            "[publisher]\nname = 5\n", "publisher.name: expected str, got 5", id="name-number"
        ),
        pytest.param(
            "fetch = [1, 2]\n" + PUBLISHER,
            "fetch: expected a table, got list",
            id="fetch-not-table",
        ),
        pytest.param(
            PUBLISHER + '[fetch]\ntimeout_seconds = "30"\n',
            "fetch.timeout_seconds: expected float, got '30'",
            id="seconds-string",
        ),
        pytest.param(
            PUBLISHER + "[fetch]\nmax_bytes = 1e6\n",
            "fetch.max_bytes: expected int, got 1000000.0",
            id="int-given-float",
        ),
        pytest.param(
            PUBLISHER + "[fetch]\nhost_spacing_seconds = true\n",
            "fetch.host_spacing_seconds: expected float, got True",
            id="float-given-bool",
        ),
        pytest.param(
            PUBLISHER + source(extra='refresh_minutes = "30"\n'),
            "sources[0].refresh_minutes: expected int, got '30'",
            id="int-given-string",
        ),
        pytest.param(
            PUBLISHER + source(extra="page_limit = true\n"),
            "sources[0].page_limit: expected int, got True",
            id="int-given-bool",
        ),
        pytest.param(
            PUBLISHER + '[[sources]]\nid = 7\ntitle = "A"\nurl = "https://a.org/"\n',
            "sources[0].id: expected str, got 7",
            id="id-number",
        ),
        pytest.param(
            PUBLISHER + '[sources]\nid = "a"\n',
            "sources: expected list, got {'id': 'a'}",
            id="sources-single-table",
        ),
        pytest.param(
            "sources = [1]\n" + PUBLISHER,
            "sources[0]: expected a table, got int",
            id="source-not-table",
        ),
        pytest.param(
            PUBLISHER + topic(extra='labels = "Press release"\n'),
            "topics[0].labels: expected list, got 'Press release'",
            id="labels-string",
        ),
        pytest.param(
            PUBLISHER + topic(extra='keywords = ["youth", 3]\n'),
            "topics[0].keywords: expected a list of non-empty strings",
            id="keywords-number-item",
        ),
        pytest.param(
            PUBLISHER + topic(extra='exclude_labels = ["Event", " "]\n'),
            "topics[0].exclude_labels: expected a list of non-empty strings",
            id="blank-label",
        ),
        pytest.param(
            PUBLISHER + topic(extra="limit = 10.5\n"),
            "topics[0].limit: expected int, got 10.5",
            id="limit-float",
        ),
    ],
)
def test_wrong_types_are_named_with_the_value(tmp_path: Path, text: str, message: str) -> None:
    assert config_error(tmp_path, text) == message


@pytest.mark.parametrize(
    ("url_line", "message"),
    [
        pytest.param(
            'url = "ftp://x"', "sources[0].url: not an http(s) or file: URL: 'ftp://x'", id="ftp"
        ),
        pytest.param(
            'url = "www.example.org/news"',
            "sources[0].url: not an http(s) or file: URL: 'www.example.org/news'",
            id="no-scheme",
        ),
        pytest.param(
            'url = "https://"',
            "sources[0].url: not an http(s) or file: URL: 'https://'",
            id="no-host",
        ),
        pytest.param(
            'url = "mailto:news@example.org"',
            "sources[0].url: not an http(s) or file: URL: 'mailto:news@example.org'",
            id="mailto",
        ),
        pytest.param(
            'url = "file://fileserver/share/news.html"',
            "sources[0].url: not a usable file: URL: 'file://fileserver/share/news.html'",
            id="file-on-another-host",
        ),
        pytest.param(
            'url = "file:"', "sources[0].url: not a usable file: URL: 'file:'", id="file-no-path"
        ),
        pytest.param(
            'url = "https://a.org/"\npublic_url = "file:news.html"',
            "sources[0].public_url: not an http(s) URL: 'file:news.html'",
            id="public-url-file",
        ),
        pytest.param(
            'url = "https://a.org/"\npublic_url = "ftp://a.org/news"',
            "sources[0].public_url: not an http(s) URL: 'ftp://a.org/news'",
            id="public-url-ftp",
        ),
    ],
)
def test_bad_source_urls_are_refused(tmp_path: Path, url_line: str, message: str) -> None:
    text = PUBLISHER + f'[[sources]]\nid = "a"\ntitle = "A"\n{url_line}\n'
    assert config_error(tmp_path, text) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            '[publisher]\nname = "x"\nbase_url = "file:///srv/feeds"\n',
            "publisher.base_url: not an http(s) URL: 'file:///srv/feeds'",
            id="base-url",
        ),
        pytest.param(
            '[publisher]\nname = "x"\ncontact = "feeds@example.org"\n',
            "publisher.contact: expected an http(s) or mailto: URL, got 'feeds@example.org'",
            id="contact-bare-address",
        ),
        pytest.param(
            '[publisher]\nname = "x"\ncontact = "tel:+41000000000"\n',
            "publisher.contact: expected an http(s) or mailto: URL, got 'tel:+41000000000'",
            id="contact-tel",
        ),
        pytest.param(
            PUBLISHER + topic(extra='image = "ftp://a.org/logo.png"\n'),
            "topics[0].image: not an http(s) URL: 'ftp://a.org/logo.png'",
            id="topic-image",
        ),
        pytest.param(
            PUBLISHER + topic(extra='image = "logo.png"\n'),
            "topics[0].image: not an http(s) URL: 'logo.png'",
            id="topic-image-relative",
        ),
    ],
)
def test_bad_publisher_and_topic_urls_are_refused(tmp_path: Path, text: str, message: str) -> None:
    assert config_error(tmp_path, text) == message


def test_contact_and_image_accept_their_url_kinds(tmp_path: Path) -> None:
    text = '[publisher]\nname = "x"\ncontact = "https://example.org/contact"\n' + topic(
        extra='image = "https://example.org/logo.png"\n'
    )
    config = load(tmp_path, text)
    assert config.publisher.contact == "https://example.org/contact"
    assert config.topics[0].image == "https://example.org/logo.png"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            PUBLISHER + source(extra='timezone = "Mars/Olympus"\n'),
            "sources[0].timezone: unknown time zone 'Mars/Olympus'",
            id="source",
        ),
        pytest.param(
            PUBLISHER + source(extra='timezone = "europe/zurich"\n'),
            "sources[0].timezone: unknown time zone 'europe/zurich'",
            id="wrong-case",
        ),
        pytest.param(
            PUBLISHER + source(extra='timezone = "../../etc/passwd"\n'),
            "sources[0].timezone: unknown time zone '../../etc/passwd'",
            id="path-outside-the-database",
        ),
        pytest.param(
            PUBLISHER + source(extra='timezone = ""\n'),
            "sources[0].timezone: unknown time zone ''",
            id="empty",
        ),
        pytest.param(
            PUBLISHER + '[defaults]\ntimezone = "Atlantis/Poseidonis"\n',
            "defaults.timezone: unknown time zone 'Atlantis/Poseidonis'",
            id="defaults-without-sources",
        ),
    ],
)
def test_unknown_time_zones_are_refused(tmp_path: Path, text: str, message: str) -> None:
    assert config_error(tmp_path, text) == message


def test_unknown_adapter_kinds_are_refused_naming_the_known_ones(tmp_path: Path) -> None:
    text = PUBLISHER + source() + source("feed", 'kind = "rss"\n')
    assert (
        config_error(tmp_path, text) == "sources[1].kind: unknown adapter kind 'rss' (known: ilo)"
    )
    with pytest.raises(ConfigError, match=r"unknown adapter kind 'rss' \(known: atom, ilo\)$"):
        load(tmp_path, text, kinds=frozenset({"ilo", "atom"}))


def test_a_default_kind_nobody_knows_is_refused_where_it_is_declared(tmp_path: Path) -> None:
    text = PUBLISHER + '[defaults]\nkind = "rss"\n'
    assert config_error(tmp_path, text) == "defaults.kind: unknown adapter kind 'rss' (known: ilo)"


def test_duplicate_source_ids_are_refused_at_the_second(tmp_path: Path) -> None:
    text = PUBLISHER + source("news") + source("events") + source("news")
    assert config_error(tmp_path, text) == "sources[2].id: duplicate source id 'news'"


def test_duplicate_topic_ids_are_refused_at_the_second(tmp_path: Path) -> None:
    text = PUBLISHER + topic("all") + topic("all")
    assert config_error(tmp_path, text) == "topics[1].id: duplicate topic id 'all'"


@pytest.mark.parametrize(
    "bad_id",
    ["News", "news feed", "-news", "_news", "nouvelles-é", "news/../x", "news.rss", "a" * 65],
)
def test_ids_with_other_characters_are_refused(tmp_path: Path, bad_id: str) -> None:
    expected = f"must be lowercase letters, digits, '-' or '_', got {bad_id!r}"
    text = PUBLISHER + f'[[sources]]\nid = "{bad_id}"\ntitle = "A"\nurl = "https://a.org/"\n'
    assert config_error(tmp_path, text) == f"sources[0].id: {expected}"
    assert config_error(tmp_path, PUBLISHER + topic(bad_id)) == f"topics[0].id: {expected}"


def test_an_empty_id_is_refused(tmp_path: Path) -> None:
    assert config_error(tmp_path, PUBLISHER + topic("")) == (
        "topics[0].id: must be lowercase letters, digits, '-' or '_', got ''"
    )


def test_a_topic_naming_an_unknown_source_is_refused(tmp_path: Path) -> None:
    text = (
        PUBLISHER
        + source("news")
        + topic("all")
        + topic("mixed", 'sources = ["news", "nowhere"]\n')
    )
    assert config_error(tmp_path, text) == "topics[1].sources: unknown source 'nowhere'"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            PUBLISHER + source(extra="refresh_minutes = 0\n"),
            "sources[0].refresh_minutes: must be between 1 and 10080, got 0",
            id="refresh-zero",
        ),
        pytest.param(
            PUBLISHER + source(extra="refresh_minutes = 10081\n"),
            "sources[0].refresh_minutes: must be between 1 and 10080, got 10081",
            id="refresh-over-a-week",
        ),
        pytest.param(
            PUBLISHER + source(extra="page_limit = 101\n"),
            "sources[0].page_limit: must be between 1 and 100, got 101",
            id="page-limit",
        ),
        pytest.param(
            PUBLISHER + source(extra="keep_at_least = -1\n"),
            "sources[0].keep_at_least: must be between 0 and 100000, got -1",
            id="keep-negative",
        ),
        pytest.param(
            PUBLISHER + source(extra="max_age_days = 0\n"),
            "sources[0].max_age_days: must be between 1 and 36500, got 0",
            id="max-age-zero",
        ),
        pytest.param(
            PUBLISHER + "[defaults]\nrefresh_minutes = 0\n",
            "defaults.refresh_minutes: must be between 1 and 10080, got 0",
            id="defaults-refresh",
        ),
        pytest.param(
            PUBLISHER + "[defaults]\npage_limit = 0\n",
            "defaults.page_limit: must be between 1 and 100, got 0",
            id="defaults-page-limit",
        ),
        pytest.param(
            PUBLISHER + "[fetch]\ntimeout_seconds = 0\n",
            "fetch.timeout_seconds: must be between 0.1 and 600, got 0.0",
            id="timeout-zero",
        ),
        pytest.param(
            PUBLISHER + "[fetch]\nconnect_timeout_seconds = 601\n",
            "fetch.connect_timeout_seconds: must be between 0.1 and 600, got 601.0",
            id="connect-timeout",
        ),
        pytest.param(
            PUBLISHER + "[fetch]\nhost_spacing_seconds = -1\n",
            "fetch.host_spacing_seconds: must be between 0 and 3600, got -1.0",
            id="negative-spacing",
        ),
        pytest.param(
            PUBLISHER + "[fetch]\nmax_bytes = 1023\n",
            "fetch.max_bytes: must be between 1024 and 1.07374e+09, got 1023",
            id="max-bytes",
        ),
        pytest.param(
            PUBLISHER + "[fetch]\nmax_backoff_minutes = 0\n",
            "fetch.max_backoff_minutes: must be between 1 and 43200, got 0",
            id="backoff",
        ),
        pytest.param(
            PUBLISHER + "[fetch]\ntimeout_seconds = nan\n",
            "fetch.timeout_seconds: must be between 0.1 and 600, got nan",
            id="not-a-number",
        ),
        pytest.param(
            PUBLISHER + "[fetch]\ntimeout_seconds = inf\n",
            "fetch.timeout_seconds: must be between 0.1 and 600, got inf",
            id="infinite",
        ),
        pytest.param(
            PUBLISHER + topic(extra="limit = 0\n"),
            "topics[0].limit: must be between 1 and 500, got 0",
            id="topic-limit-zero",
        ),
        pytest.param(
            PUBLISHER + topic(extra="limit = 501\n"),
            "topics[0].limit: must be between 1 and 500, got 501",
            id="topic-limit-high",
        ),
    ],
)
def test_out_of_range_numbers_are_refused_with_the_range(
    tmp_path: Path, text: str, message: str
) -> None:
    assert config_error(tmp_path, text) == message


def test_invalid_toml_is_refused_naming_the_file_and_the_position(tmp_path: Path) -> None:
    message = config_error(tmp_path, '[publisher\nname = "x"\n')
    assert message.startswith("not valid TOML: ")
    assert "line 1" in message


def test_a_key_given_twice_is_invalid_toml(tmp_path: Path) -> None:
    message = config_error(tmp_path, '[publisher]\nname = "x"\nname = "y"\n')
    assert message.startswith("not valid TOML: ")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "feedpub.toml"
    with pytest.raises(ConfigError, match=r"^.*nowhere/feedpub\.toml: no such file$"):
        load_config(path, adapter_kinds=KINDS, environ={})


def test_a_file_that_is_not_utf8_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "feedpub.toml"
    path.write_bytes('[publisher]\nname = "Actualités"\n'.encode("latin-1"))
    with pytest.raises(
        ConfigError, match=r"^.*feedpub\.toml: not UTF-8 text: byte 0xe9 at line 2, column 17"
    ):
        load_config(path, adapter_kinds=KINDS, environ={})


def test_a_folder_is_not_a_config_file(tmp_path: Path) -> None:
    folder = tmp_path / "feedpub.toml"
    folder.mkdir()
    with pytest.raises(ConfigError, match=r"^.*feedpub\.toml: cannot be read: "):
        load_config(folder, adapter_kinds=KINDS, environ={})


# --- known faults of feeds/config.py: these fail until it is fixed ---------------------------


def test_a_port_out_of_range_is_a_config_error(tmp_path: Path) -> None:
    text = PUBLISHER + '[[sources]]\nid = "a"\ntitle = "A"\nurl = "https://x.org:99999/"\n'
    with pytest.raises(ConfigError, match=r"sources\[0\]\.url: not a valid URL"):
        load(tmp_path, text)


def test_a_malformed_bracketed_host_is_a_config_error(tmp_path: Path) -> None:
    text = PUBLISHER + '[[sources]]\nid = "a"\ntitle = "A"\nurl = "http://[oops/"\n'
    with pytest.raises(ConfigError, match=r"sources\[0\]\.url: "):
        load(tmp_path, text)


def test_a_time_zone_area_without_a_city_is_an_unknown_time_zone(tmp_path: Path) -> None:
    text = PUBLISHER + source(extra='timezone = "America"\n')
    assert config_error(tmp_path, text) == "sources[0].timezone: unknown time zone 'America'"


def test_a_percent_encoded_file_url_names_the_same_file(tmp_path: Path) -> None:
    page = tmp_path / "my news.html"
    url = page.as_uri()
    assert "%20" in url
    (news,) = load(
        tmp_path, PUBLISHER + f'[[sources]]\nid = "a"\ntitle = "A"\nurl = "{url}"\n'
    ).sources
    assert news.url == url


# --- the environment ----------------------------------------------------------------------


def test_the_database_url_comes_from_the_given_environment(tmp_path: Path) -> None:
    environ = {DATABASE_ENV: "postgresql://feeds@db/feedpub"}
    assert load(tmp_path, PUBLISHER, environ).database_url == "postgresql://feeds@db/feedpub"
    parsed = parse_config(PUBLISHER, tmp_path / "x.toml", adapter_kinds=KINDS, environ=environ)
    assert parsed.database_url == "postgresql://feeds@db/feedpub"


def test_the_database_url_defaults_to_a_local_sqlite_file(tmp_path: Path) -> None:
    assert DEFAULT_DATABASE_URL == "sqlite:///feedpub.db"
    assert load(tmp_path, PUBLISHER, {}).database_url == DEFAULT_DATABASE_URL
    assert load(tmp_path, PUBLISHER, {DATABASE_ENV: ""}).database_url == DEFAULT_DATABASE_URL
    assert load(tmp_path, PUBLISHER, {"DATABASE_URL": "x"}).database_url == DEFAULT_DATABASE_URL


def test_the_process_environment_is_not_read_when_a_mapping_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATABASE_ENV, "sqlite:///from-process.db")
    assert load(tmp_path, PUBLISHER, {}).database_url == DEFAULT_DATABASE_URL
    default_environ = load_config(write(tmp_path, PUBLISHER), adapter_kinds=KINDS)
    assert default_environ.database_url == "sqlite:///from-process.db"


# --- finding the config ------------------------------------------------------------------


def test_an_explicit_config_path_comes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, PUBLISHER)
    monkeypatch.chdir(tmp_path)
    environ = {CONFIG_ENV: "/etc/feedpub/from-env.toml"}
    assert find_config_path("site.toml", environ) == Path("site.toml")


def test_the_environment_variable_comes_before_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, PUBLISHER)
    monkeypatch.chdir(tmp_path)
    environ = {CONFIG_ENV: "/etc/feedpub/from-env.toml"}
    assert find_config_path(None, environ) == Path("/etc/feedpub/from-env.toml")
    assert find_config_path("", environ) == Path("/etc/feedpub/from-env.toml")


def test_feedpub_toml_in_the_working_directory_comes_before_the_bundled_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = write(tmp_path, PUBLISHER)
    monkeypatch.chdir(tmp_path)
    found = find_config_path(None, {})
    assert found.resolve() == local.resolve()
    assert find_config_path(None, {CONFIG_ENV: ""}).resolve() == local.resolve()


def test_the_bundled_config_is_the_last_resort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_config_path(None, {}) == bundled_config_path()
    (tmp_path / "feedpub.toml").mkdir()  # a folder of that name is not a config file
    assert find_config_path(None, {}) == bundled_config_path()


def test_find_config_path_reads_the_process_environment_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "env.toml"))
    assert find_config_path() == tmp_path / "env.toml"
    monkeypatch.delenv(CONFIG_ENV)
    assert find_config_path() == bundled_config_path()


# --- Serving limits: allowed hosts and the render cache's bounds, in [publisher]


def test_serving_limits_default_to_no_hosts_and_a_bounded_render_cache(tmp_path: Path) -> None:
    config = load(tmp_path, PUBLISHER)
    assert config.limits == ServingLimits(
        allowed_hosts=(), render_cache_bytes=64 * 1024 * 1024, render_cache_entries=512
    )


def test_allowed_hosts_are_lowercased_once_each_and_the_cache_bounds_read(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        PUBLISHER
        + 'allowed_hosts = ["Feeds.Example.org", " 127.0.0.1:8000 ", "[::1]:8000", '
        + '"[2001:DB8::1]", "feeds.example.org"]\n'
        + "render_cache_bytes = 1_048_576\nrender_cache_entries = 1\n",
    )
    assert config.limits == ServingLimits(
        allowed_hosts=("feeds.example.org", "127.0.0.1:8000", "[::1]:8000", "[2001:db8::1]"),
        render_cache_bytes=1024 * 1024,
        render_cache_entries=1,
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        *(
            (
                f'allowed_hosts = ["feeds.example.org", "{host}"]',
                "publisher.allowed_hosts[1]: expected a host with an optional port "
                f"(feeds.example.org, 127.0.0.1:8000), got '{host}'",
            )
            for host in (
                "https://feeds.example.org",
                "feeds.example.org/news",
                "feeds.example.org:0",
                "feeds.example.org:65536",
                "feeds.example.org:",
                "feeds example.org",
                "[::1",
                "::1",
                "user@feeds.example.org",
            )
        ),
        ('allowed_hosts = "feeds.example.org"', "publisher.allowed_hosts: expected list"),
        ('allowed_hosts = [""]', "publisher.allowed_hosts: expected a list of non-empty strings"),
        (
            "render_cache_bytes = 1_048_575",
            "publisher.render_cache_bytes: must be between 1_048_576 and 68_719_476_736, "
            "got 1048575",
        ),
        (
            "render_cache_entries = 0",
            "publisher.render_cache_entries: must be between 1 and 1_000_000, got 0",
        ),
        ("render_cache_entries = 1.5", "publisher.render_cache_entries: expected int, got 1.5"),
    ],
)
def test_bad_serving_limits_are_refused_naming_the_key(
    tmp_path: Path, line: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(tmp_path, f"{PUBLISHER}{line}\n")

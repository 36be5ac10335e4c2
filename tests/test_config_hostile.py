"""Hostile and unlucky configuration files: every one is a precise ``ConfigError`` at load time
(never a traceback, never a value that breaks something later), and a source's credentials are
kept for fetching only: what is published is the URL without them."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from feeds.config import SourceConfig, load_config
from feeds.errors import ConfigError
from tests.test_config import PUBLISHER, config_error, load, source, write

KINDS = frozenset({"ilo"})


# --- numbers, nesting, encodings -------------------------------------------------------


def test_a_400_digit_integer_is_out_of_range_not_a_traceback(tmp_path: Path) -> None:
    huge = "9" * 400
    message = config_error(tmp_path, PUBLISHER + f"[fetch]\nmax_bytes = {huge}\n")
    assert message.startswith("fetch.max_bytes: must be between 1024 and 1.07374e+09, got 999")
    assert len(message) < 200  # the value is shown cut, not whole


def test_a_400_digit_integer_where_seconds_are_expected_is_out_of_range(tmp_path: Path) -> None:
    huge = "9" * 400
    message = config_error(tmp_path, PUBLISHER + f"[fetch]\ntimeout_seconds = {huge}\n")
    assert message.startswith("fetch.timeout_seconds: must be between 0.1 and 600, got 999")


def test_deeply_nested_arrays_are_refused_saying_so(tmp_path: Path) -> None:
    nested = "[" * 5000 + "]" * 5000
    message = config_error(tmp_path, PUBLISHER + f"[defaults]\nkind = {nested}\n")
    assert message == "not valid TOML: nested too deeply"


def test_a_utf8_byte_order_mark_at_the_start_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "feedpub.toml"
    path.write_bytes(codecs.BOM_UTF8 + (PUBLISHER + source()).encode())
    config = load_config(path, adapter_kinds=KINDS, environ={})
    assert config.publisher.name == "Test feeds"
    assert config.sources[0].id == "news"


def test_a_file_that_is_not_utf8_is_refused_saying_where(tmp_path: Path) -> None:
    path = tmp_path / "feedpub.toml"
    path.write_bytes(PUBLISHER.encode() + b'contact = "mailto:caf\xe9@example.org"\n')
    with pytest.raises(ConfigError) as raised:
        load_config(path, adapter_kinds=KINDS, environ={})
    assert str(raised.value) == (
        f"{path}: not UTF-8 text: byte 0xe9 at line 3, column 22 (save the file as UTF-8)"
    )


def test_a_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "feedpub.toml"
    path.write_bytes(b"\x00\x01\x02name = 1\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path, adapter_kinds=KINDS, environ={})
    assert str(raised.value).startswith(f"{path}: not valid TOML: ")


# --- characters that break things later -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            PUBLISHER + 'language = "en\\u0001"\n',
            "publisher.language: not a language tag (such as en, fr or pt-BR): 'en\\x01'",
            id="publisher-language-control",
        ),
        pytest.param(
            PUBLISHER + 'language = "en gb"\n',
            "publisher.language: not a language tag (such as en, fr or pt-BR): 'en gb'",
            id="publisher-language-space",
        ),
        pytest.param(
            PUBLISHER + source(extra='language = "français"\n'),
            "sources[0].language: not a language tag (such as en, fr or pt-BR): 'français'",
            id="source-language",
        ),
        pytest.param(
            PUBLISHER + 'contact = "mailto:news desk@example.org"\n',
            "publisher.contact: a URL may not hold spaces or control characters: "
            "'mailto:news desk@example.org'",
            id="contact-space",
        ),
        pytest.param(
            PUBLISHER + 'contact = "https://example.org/\\r\\nX-Injected: 1"\n',
            "publisher.contact: a URL may not hold spaces or control characters: "
            "'https://example.org/\\r\\nX-Injected: 1'",
            id="contact-header-injection",
        ),
        pytest.param(
            PUBLISHER + 'base_url = "https://feeds.example.org/a b"\n',
            "publisher.base_url: a URL may not hold spaces or control characters: "
            "'https://feeds.example.org/a b'",
            id="base-url-space",
        ),
        pytest.param(
            PUBLISHER
            + '[[sources]]\nid = "a"\ntitle = "A"\nurl = "https://example.org/news\\u0007"\n',
            "sources[0].url: a URL may not hold spaces or control characters: "
            "'https://example.org/news\\x07'",
            id="source-url-control",
        ),
        pytest.param(
            PUBLISHER + '[[sources]]\nid = "a"\ntitle = "A"\nurl = "https://exa mple.org/news"\n',
            "sources[0].url: a URL may not hold spaces or control characters: "
            "'https://exa mple.org/news'",
            id="source-host-space",
        ),
        pytest.param(
            PUBLISHER + '[[sources]]\nid = "a"\ntitle = "A"\nurl = "https://exa_mple!.org/"\n',
            "sources[0].url: not a valid host name: 'exa_mple!.org'",
            id="source-host-characters",
        ),
        pytest.param(
            PUBLISHER + source(extra='public_url = "https://example.org/ne\\u0085ws"\n'),
            "sources[0].public_url: a URL may not hold spaces or control characters: "
            "'https://example.org/ne\\x85ws'",
            id="public-url-c1-control",
        ),
        pytest.param(
            PUBLISHER + source(extra='public_url = "https://reader:s3cret@example.org/news"\n'),
            "sources[0].public_url: must not hold a user name or password (it is published): "
            "'https://reader:***@example.org/news'",
            id="public-url-credentials",
        ),
        pytest.param(
            PUBLISHER + 'base_url = "https://admin:pw@feeds.example.org"\n',
            "publisher.base_url: must not hold a user name or password (it is published): "
            "'https://admin:***@feeds.example.org'",
            id="base-url-credentials",
        ),
        pytest.param(
            PUBLISHER + '[fetch]\nsecret_query_parameters = ["api key"]\n',
            "fetch.secret_query_parameters: not a query parameter name: 'api key'",
            id="secret-parameter-name",
        ),
    ],
)
def test_characters_that_would_break_later_are_refused_at_load_time(
    tmp_path: Path, text: str, message: str
) -> None:
    assert config_error(tmp_path, text) == message


def test_international_host_names_and_language_subtags_are_accepted(tmp_path: Path) -> None:
    text = (
        PUBLISHER
        + 'language = "pt-BR"\n'
        + '[[sources]]\nid = "a"\ntitle = "A"\nurl = "https://bücher.example/news"\n'
        + 'language = "zh-Hant-TW"\n'
    )
    config = load(tmp_path, text)
    assert config.publisher.language == "pt-BR"
    assert config.sources[0].language == "zh-Hant-TW"
    assert config.sources[0].url == "https://bücher.example/news"


# --- credentials: for fetching only ---------------------------------------------------------


def credentialed(tmp_path: Path, url: str, extra: str = "") -> SourceConfig:
    text = PUBLISHER + extra + f'[[sources]]\nid = "a"\ntitle = "A"\nurl = "{url}"\n'
    return load(tmp_path, text).sources[0]


def test_a_source_url_keeps_its_credentials_for_fetching_but_publishes_none(
    tmp_path: Path,
) -> None:
    found = credentialed(
        tmp_path, "https://reader:s3cret@example.org/news/?api_key=K123&page=2&Token=T9#top"
    )
    assert found.url == "https://reader:s3cret@example.org/news/?api_key=K123&page=2&Token=T9#top"
    assert found.page_url == "https://example.org/news/?page=2#top"


def test_an_explicit_public_url_is_published_as_given(tmp_path: Path) -> None:
    text = PUBLISHER + source(extra='public_url = "https://www.example.org/news?page=1"\n')
    assert load(tmp_path, text).sources[0].page_url == "https://www.example.org/news?page=1"


def test_secret_query_parameters_can_be_configured(tmp_path: Path) -> None:
    found = credentialed(
        tmp_path,
        "https://example.org/news?sid=abc&api_key=kept-as-not-secret-here&lang=fr",
        extra='[fetch]\nsecret_query_parameters = ["SID"]\n',
    )
    assert found.page_url == "https://example.org/news?api_key=kept-as-not-secret-here&lang=fr"


def test_redact_removes_credentials_from_any_text_naming_the_url(tmp_path: Path) -> None:
    found = credentialed(tmp_path, "https://reader:s3cret@example.org/news?api_key=K123&page=2")
    message = (
        "https://reader:s3cret@example.org/news?api_key=K123&page=2: HTTP 500 "
        "(redirected to https://other:pw2@example.net/x?token=abc&y=1)"
    )
    redacted = found.redact(message)
    assert redacted == (
        "https://example.org/news?page=2: HTTP 500 (redirected to https://example.net/x?y=1)"
    )
    for secret in ("s3cret", "K123", "reader", "pw2", "abc"):
        assert secret not in redacted


def test_a_source_written_with_credentials_and_a_bom_loads(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    path.write_bytes(
        codecs.BOM_UTF8
        + (
            PUBLISHER + '[[sources]]\nid = "a"\ntitle = "A"\nurl = "https://u:p@example.org/"\n'
        ).encode()
    )
    config = load_config(path, adapter_kinds=KINDS, environ={})
    assert config.sources[0].page_url == "https://example.org/"

"""The full-text keys of a source and of ``[defaults]``: ``full_text``, ``full_text_budget``,
``full_text_selector``; their defaults, and the messages that name what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_config import PUBLISHER, config_error, load, source


def test_full_text_is_off_by_default_with_a_budget_of_ten(tmp_path: Path) -> None:
    (news,) = load(tmp_path, PUBLISHER + source()).sources
    assert (news.full_text, news.full_text_budget, news.full_text_selector) == (False, 10, "")


def test_defaults_turn_full_text_on_and_a_source_can_override_them(tmp_path: Path) -> None:
    text = (
        PUBLISHER
        + "[defaults]\nfull_text = true\nfull_text_budget = 4\n"
        + source("a")
        + source("b", "full_text_budget = 25\nfull_text_selector = 'div.story-body'\n")
        + source("c", "full_text = false\n")
    )
    a, b, c = load(tmp_path, text).sources
    assert (a.full_text, a.full_text_budget, a.full_text_selector) == (True, 4, "")
    assert (b.full_text, b.full_text_budget, b.full_text_selector) == (True, 25, "div.story-body")
    assert (c.full_text, c.full_text_budget) == (False, 4)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('full_text = "yes"\n', "sources[0].full_text: expected bool, got 'yes'"),
        ("full_text = true\nfull_text_budget = -1\n",
         "sources[0].full_text_budget: must be between 0 and 1000, got -1"),
        ("full_text = true\nfull_text_budget = 1.5\n",
         "sources[0].full_text_budget: expected int, got 1.5"),
        ("full_text = true\nfull_text_selector = 'div[class='\n",
         "sources[0].full_text_selector: not a CSS selector: 'div[class='"),
        ("full_text_selector = 'article'\n",
         "sources[0].full_text_selector: is used only with full_text = true (in the source or "
         "[defaults])"),
    ],
)  # fmt: skip
def test_bad_full_text_keys_are_refused_naming_the_key(
    tmp_path: Path, extra: str, message: str
) -> None:
    assert config_error(tmp_path, PUBLISHER + source(extra=extra)).startswith(message)


def test_a_bad_default_budget_is_refused_naming_defaults(tmp_path: Path) -> None:
    text = PUBLISHER + "[defaults]\nfull_text_budget = 5000\n" + source()
    assert config_error(tmp_path, text) == (
        "defaults.full_text_budget: must be between 0 and 1000, got 5000"
    )

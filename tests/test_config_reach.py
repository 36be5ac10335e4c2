"""``[fetch]`` keys saying where redirects and next pages may go: ``allow_networks`` and
``next_pages_off_site``, their defaults and what is refused."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from pathlib import Path

import pytest

import server
from tests.test_config import PUBLISHER, config_error, load


def test_by_default_no_network_is_opened_and_next_pages_stay_on_the_site(
    tmp_path: Path,
) -> None:
    config = load(tmp_path, PUBLISHER)
    assert config.fetch.allow_networks == ()
    assert config.fetch.next_pages_off_site is False


def test_networks_and_off_site_next_pages_can_be_allowed(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        PUBLISHER
        + '[fetch]\nallow_networks = ["10.1.0.0/16", "fd12::/16", "192.168.4.7"]\n'
        + "next_pages_off_site = true\n",
    )
    assert config.fetch.allow_networks == (
        ipaddress.ip_network("10.1.0.0/16"),
        ipaddress.ip_network("fd12::/16"),
        ipaddress.ip_network("192.168.4.7/32"),
    )
    assert config.fetch.next_pages_off_site is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            '[fetch]\nallow_networks = ["10.1.2.3/16"]\n',
            "fetch.allow_networks: expected networks like '10.1.0.0/16' (host bits zero), "
            "got '10.1.2.3/16'",
            id="host-bits",
        ),
        pytest.param(
            '[fetch]\nallow_networks = ["intranet"]\n',
            "fetch.allow_networks: expected networks like '10.1.0.0/16' (host bits zero), "
            "got 'intranet'",
            id="not-a-network",
        ),
        pytest.param(
            '[fetch]\nallow_networks = "10.0.0.0/8"\n',
            "fetch.allow_networks: expected list, got '10.0.0.0/8'",
            id="not-a-list",
        ),
        pytest.param(
            '[fetch]\nnext_pages_off_site = "yes"\n',
            "fetch.next_pages_off_site: expected bool, got 'yes'",
            id="off-site-not-bool",
        ),
    ],
)
def test_malformed_reach_keys_are_refused(tmp_path: Path, text: str, message: str) -> None:
    assert config_error(tmp_path, PUBLISHER + text) == message


def test_the_refresher_is_wired_with_them(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        PUBLISHER + '[fetch]\nallow_networks = ["10.1.0.0/16"]\nnext_pages_off_site = true\n',
    )
    refresher = server.open_refresher(replace(config, database_url=f"sqlite:///{tmp_path}/f.db"))
    try:
        assert refresher.fetcher.allow_networks == (ipaddress.ip_network("10.1.0.0/16"),)
        assert refresher.fetcher.next_pages_off_site is True
    finally:
        refresher.close()

"""The ``[websub]`` table: the hub's defaults, its bounds, and what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from feeds.config import WebSubConfig
from tests.test_config import PUBLISHER, config_error, load


def test_the_hub_is_on_with_ten_day_leases_and_public_callbacks_only(tmp_path: Path) -> None:
    hub = load(tmp_path, PUBLISHER).websub
    assert hub == WebSubConfig()
    assert hub.enabled
    assert not hub.allow_private_callbacks
    assert hub.lease(None) == 10 * 24 * 3600
    assert hub.external_hubs == ()


def test_a_requested_lease_is_brought_within_the_bounds(tmp_path: Path) -> None:
    hub = load(
        tmp_path, PUBLISHER + "[websub]\nmin_lease_seconds = 60\nmax_lease_seconds = 3600\n"
        "default_lease_seconds = 600\n",
    ).websub  # fmt: skip
    assert (hub.lease(None), hub.lease(1), hub.lease(900), hub.lease(10**9)) == (
        600,
        60,
        900,
        3600,
    )


def test_every_key_of_the_table_is_read(tmp_path: Path) -> None:
    text = PUBLISHER + (
        "[websub]\nenabled = false\nallow_private_callbacks = true\nmax_subscriptions = 10\n"
        "max_subscriptions_per_host = 2\nrequests_per_minute = 5\ntimeout_seconds = 2\n"
        "max_response_bytes = 1024\nretry_seconds = 0.5\nmax_retry_seconds = 4\n"
        "give_up_seconds = 30\ndrop_after_give_ups = 1\npoll_seconds = 0.1\n"
        'delivery_threads = 3\nexternal_hubs = ["https://hub.example.net/"]\n'
    )
    hub = load(tmp_path, text).websub
    assert hub == WebSubConfig(
        enabled=False,
        allow_private_callbacks=True,
        max_subscriptions=10,
        max_subscriptions_per_host=2,
        requests_per_minute=5,
        timeout_seconds=2.0,
        max_response_bytes=1024,
        retry_seconds=0.5,
        max_retry_seconds=4.0,
        give_up_seconds=30.0,
        drop_after_give_ups=1,
        poll_seconds=0.1,
        delivery_threads=3,
        external_hubs=("https://hub.example.net/",),
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        pytest.param(
            "min_lease_seconds = 600\nmax_lease_seconds = 60\n",
            "websub.max_lease_seconds: must be at least min_lease_seconds (600), got 60",
            id="bounds-reversed",
        ),
        pytest.param(
            "max_lease_seconds = 7200\ndefault_lease_seconds = 9000\n",
            "websub.default_lease_seconds: must be between min_lease_seconds (3600) and "
            "max_lease_seconds (7200), got 9000",
            id="default-outside",
        ),
        pytest.param(
            'external_hubs = ["ftp://hub.example.net/"]\n',
            "websub.external_hubs[0]: not an http(s) URL: 'ftp://hub.example.net/'",
            id="hub-scheme",
        ),
        pytest.param(
            "delivery_threads = 0\n",
            "websub.delivery_threads: must be between 1 and 256, got 0",
            id="no-threads",
        ),
        pytest.param(
            'allow_private_callbacks = "yes"\n',
            "websub.allow_private_callbacks: expected bool, got 'yes'",
            id="not-bool",
        ),
        pytest.param("hub_secret = 1\n", "websub.hub_secret: unknown key", id="unknown-key"),
    ],
)
def test_bad_hub_settings_are_refused_naming_the_key(
    tmp_path: Path, table: str, message: str
) -> None:
    assert config_error(tmp_path, PUBLISHER + "[websub]\n" + table) == message

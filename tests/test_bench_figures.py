"""The benchmarks' readings of their tools' output: a figure is read from where the tool
prints it, not from a line that merely looks alike."""

from __future__ import annotations

import pytest

from bench.serve_throughput import milliseconds, wrk_figures

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8000/feeds/all-news.rss
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.10ms    1.20ms  40.00ms   80.99%
    Req/Sec    10.30k   600.00    11.00k    70.00%
  Latency Distribution
     50%    2.90ms
     75%    3.50ms
     90%    4.20ms
     99%    7.80ms
  205000 requests in 10.00s, 1.20GB read
Requests/sec:  20500.00
Transfer/sec:    122.00MB
"""


def test_the_p99_is_read_from_the_latency_distribution() -> None:
    assert wrk_figures(WRK_OUTPUT) == (20500.0, "7.80ms")


def test_a_run_without_a_distribution_or_with_errors_gives_no_figures() -> None:
    without = WRK_OUTPUT.replace("Latency Distribution", "Latency")
    assert wrk_figures(without) is None
    errors = WRK_OUTPUT + "  Non-2xx or 3xx responses: 12\n"
    assert wrk_figures(errors) is None


@pytest.mark.parametrize(
    ("latency", "expected"), [("850.00us", 0.85), ("5.39ms", 5.39), ("1.02s", 1020.0)]
)
def test_wrk_latencies_are_read_in_milliseconds(latency: str, expected: float) -> None:
    assert milliseconds(latency) == pytest.approx(expected)


def test_a_latency_wrk_does_not_print_is_refused() -> None:
    with pytest.raises(ValueError, match="not a latency"):
        milliseconds("5.39")

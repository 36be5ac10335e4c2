"""Reading numbers from query strings: ASCII digits only, a few of them, within bounds, so
that no value a client sends (``²``, ten thousand digits) gets further than a clear 400."""

from __future__ import annotations

import re

#: The most digits a number in a query string may have (leading zeros included).
MAX_DIGITS = 6
_NUMBER = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}")


def whole_number(name: str, text: str, low: int, high: int) -> int:
    """The value of the parameter ``name``: a whole number from ``low`` to ``high``;
    ``ValueError`` naming the parameter and its bounds otherwise."""
    if _NUMBER.fullmatch(text) is None or not low <= int(text) <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}")
    return int(text)

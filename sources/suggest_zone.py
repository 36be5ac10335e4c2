"""Auto-detection's time zone guess for a page: the UTC offsets its dates are written with,
named by the region that its language or its host's country suggests when the two agree.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import lxml.html

_OFFSET = re.compile(r"T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})$")
#: The zone most of a country's people live in (a guess where a country has several).
_COUNTRY_ZONES = {
    "at": "Europe/Vienna", "au": "Australia/Sydney", "be": "Europe/Brussels",
    "br": "America/Sao_Paulo", "ca": "America/Toronto", "ch": "Europe/Zurich",
    "cn": "Asia/Shanghai", "cz": "Europe/Prague", "de": "Europe/Berlin", "dk": "Europe/Copenhagen",
    "es": "Europe/Madrid", "fi": "Europe/Helsinki", "fr": "Europe/Paris", "gb": "Europe/London",
    "gr": "Europe/Athens", "hu": "Europe/Budapest", "id": "Asia/Jakarta", "ie": "Europe/Dublin",
    "il": "Asia/Jerusalem", "in": "Asia/Kolkata", "it": "Europe/Rome", "jp": "Asia/Tokyo",
    "kr": "Asia/Seoul", "mx": "America/Mexico_City", "nl": "Europe/Amsterdam",
    "no": "Europe/Oslo", "nz": "Pacific/Auckland", "pl": "Europe/Warsaw", "pt": "Europe/Lisbon",
    "ro": "Europe/Bucharest", "ru": "Europe/Moscow", "se": "Europe/Stockholm",
    "tr": "Europe/Istanbul", "tw": "Asia/Taipei", "ua": "Europe/Kyiv", "uk": "Europe/London",
    "us": "America/New_York", "za": "Africa/Johannesburg",
}  # fmt: skip
#: The country a language is mostly written in, where one country holds most of its writers.
_LANGUAGE_COUNTRIES = {
    "cs": "cz", "da": "dk", "de": "de", "el": "gr", "fi": "fi", "fr": "fr", "he": "il",
    "hu": "hu", "id": "id", "it": "it", "ja": "jp", "ko": "kr", "nb": "no", "nl": "nl",
    "nn": "no", "no": "no", "pl": "pl", "ro": "ro", "ru": "ru", "sv": "se", "tr": "tr",
    "uk": "ua", "zh": "cn",
}  # fmt: skip


def _region(root: lxml.html.HtmlElement, page_url: str) -> tuple[str, str] | None:
    """The zone the page's ``lang`` (its region, else its language) or its host's country
    code suggests, with where it came from."""
    language = str(
        root.get("lang", "") or root.get("{http://www.w3.org/XML/1998/namespace}lang", "")
    )
    parts = language.strip().replace("_", "-").lower().split("-")
    if len(parts) > 1 and parts[1] in _COUNTRY_ZONES:
        return _COUNTRY_ZONES[parts[1]], f"the page's language {language.strip()!r}"
    if parts[0] in _LANGUAGE_COUNTRIES:
        return _COUNTRY_ZONES[_LANGUAGE_COUNTRIES[parts[0]]], f"the page's language {parts[0]!r}"
    suffix = (urlsplit(page_url).hostname or "").rsplit(".", 1)[-1].lower()
    if suffix in _COUNTRY_ZONES:
        return _COUNTRY_ZONES[suffix], f"the host's country '.{suffix}'"
    return None


def guess_timezone(root: lxml.html.HtmlElement, page_url: str = "") -> tuple[str | None, str]:
    """A zone from the UTC offsets of the page's ISO dates (``time@datetime``, meta), named
    by the page's region when its zone has those offsets; else the region's zone, said to
    be a guess; with the reason. ``None`` when nothing suggests one."""
    values = [str(t.get("datetime", "")) for t in root.iter("time")]
    values += [
        str(m.get("content", ""))
        for m in root.iter("meta")
        if "time" in str(m.get("property", "") or m.get("name", "")).lower()
    ]
    stamps = [
        (m.group(1).replace(":", ""), v.strip()) for v in values if (m := _OFFSET.search(v.strip()))
    ]
    offsets = Counter(offset for offset, _ in stamps)
    region = _region(root, page_url)
    for offset, _count in offsets.most_common():
        if offset in ("Z", "+0000", "-0000"):
            continue
        hours, minutes = int(offset[1:3]), int(offset[3:5])
        if region is not None and _keeps(ZoneInfo(region[0]), offset, stamps):
            return (
                region[0],
                f"from the {offset[:3]}:{offset[3:]} offset of the page's dates, in the zone "
                f"of {region[1]}",
            )
        if minutes:
            continue
        name = "UTC" if hours == 0 else f"Etc/GMT{'-' if offset[0] == '+' else '+'}{hours}"
        return name, (
            f"from the {offset[:3]}:{offset[3:]} offset of the page's dates (a fixed offset: "
            "name the region's zone if it keeps summer time)"
        )
    if region is not None:
        return region[0], f"a guess from {region[1]}: the page's dates carry no UTC offset"
    if offsets:
        return None, "a guess: the page's dates are written in UTC, which says nothing of its zone"
    return None, "a guess: the page's dates carry no UTC offset"


def _keeps(zone: ZoneInfo, offset: str, stamps: list[tuple[str, str]]) -> bool:
    """Whether every date written with ``offset`` has that offset in ``zone``."""
    written = [value for found, value in stamps if found == offset]
    for value in written:
        try:
            instant = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return False
        if instant.tzinfo is None or instant.astimezone(zone).utcoffset() != instant.utcoffset():
            return False
    return bool(written)

"""What ``feedpub preview`` shows of a parsed page or of a suggestion, as text or as JSON
(a suggestion's text form is ``sources.suggest.suggestion_toml``).

Pure functions from results to the text to print; the command line only prints it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from feeds.model import PageContext, ParseResult, diagnostic_record, entry_record
from sources.article import Article
from sources.selectors import FIELDS
from sources.suggest import Suggestion

#: Summaries longer than this are cut in the text listing (the JSON form keeps them whole).
SHOWN_SUMMARY_CHARACTERS = 160
#: The selectors ``feedpub preview`` takes as options (``--item``, ``--title``...).
SELECTOR_OPTIONS = ("item", *FIELDS)


def command_line_selectors(
    values: Mapping[str, str | None], kind: str | None, source_id: str | None
) -> dict[str, str]:
    """The ``[sources.selectors]`` given as options, unset ones left out; ``ValueError``
    when they are given for a source or an adapter that takes none."""
    selectors = {key: value for key in SELECTOR_OPTIONS if (value := values.get(key))}
    if selectors and (source_id or kind not in (None, "html")):
        given = ", ".join(f"--{key}" for key in selectors)
        reason = f"--source {source_id}" if source_id else f"--kind {kind}"
        raise ValueError(f"{given}: selectors are read with --kind html, not with {reason}")
    return selectors


def not_a_listing(name: str, result: ParseResult, read_as_ilo: bool) -> str:
    """Why the page gave no entry; read with the default ILO adapter, what else to try."""
    reason = next(d.message for d in result.diagnostics if d.code == "not-a-listing")
    if read_as_ilo:
        reason += (
            " (read as an ILO listing page; for another site try --suggest to find its items, "
            "or --kind html --item SEL --title SEL)"
        )
    return f"{name}: {reason}"


def result_text(
    name: str, result: ParseResult, context: PageContext, rendition: str | None = None
) -> str:
    """Every entry with its dates, id, link and a line of summary, then the diagnostics;
    ``rendition`` (what the page was recognised as) is said under the first line."""
    dated = sum(1 for entry in result.entries if entry.date)
    lines = [
        f"{name}: {len(result.entries)} entries ({dated} dated), "
        f"{len(result.diagnostics)} diagnostics; dates read in {context.timezone.key}"
    ]
    if rendition:
        lines.append(f"read as {rendition}")
    for number, entry in enumerate(result.entries, start=1):
        day = entry.date.isoformat() if entry.date else "undated   "
        lines += ["", f"{number:3}. {day}  {entry.title}"]
        details = [f"group: {entry.group}"] if entry.group else []
        details += [f"labels: {', '.join(entry.labels)}"] if entry.labels else []
        details += [f"credit: {entry.credit}"] if entry.credit else []
        if details:
            lines.append("     " + " · ".join(details))
        lines.append(f"     published {entry.published.isoformat()}  id {entry.id}")
        lines.append(f"     link {entry.link}")
        if entry.summary:
            summary = " ".join(entry.summary.split())
            if len(summary) > SHOWN_SUMMARY_CHARACTERS:
                summary = summary[: SHOWN_SUMMARY_CHARACTERS - 3] + "..."
            lines.append("     " + summary)
    if result.diagnostics:
        lines += ["", "diagnostics:"]
    for diagnostic in result.diagnostics:
        where = ", ".join(
            f"{label} {value}"
            for label, value in (("line", diagnostic.line), ("item", diagnostic.item))
            if value is not None
        )
        prefix = f"  [{diagnostic.severity}] {diagnostic.code}"
        lines.append(
            f"{prefix} ({where}): {diagnostic.message}"
            if where
            else f"{prefix}: {diagnostic.message}"
        )
    return "\n".join(lines)


def result_json(result: ParseResult, rendition: str | None = None) -> str:
    """The entries and diagnostics as JSON records (and the rendition recognised, if told)."""
    return _json(
        {
            **({"rendition": rendition} if rendition else {}),
            "entries": [entry_record(entry) for entry in result.entries],
            "diagnostics": [diagnostic_record(d) for d in result.diagnostics],
        }
    )


def suggestion_json(suggestion: Suggestion) -> str:
    """The suggestion's kind, selectors, notes, the page's own feeds, id and time zone, what it
    reads, and the other candidates with why each scored and their first entries."""
    result = suggestion.result
    return _json(
        {
            "kind": suggestion.kind,
            "selectors": suggestion.selectors,
            "notes": suggestion.notes,
            "feeds": suggestion.feed_links,
            "id": suggestion.source_id,
            "timezone": suggestion.timezone,
            "timezone_reason": suggestion.timezone_reason,
            "entries": [entry_record(e) for e in result.entries] if result else [],
            "alternatives": [
                {
                    "label": alternative.label,
                    "score": alternative.score,
                    "reasons": list(alternative.reasons),
                    "selectors": alternative.selectors,
                    "entries": [entry_record(e) for e in alternative.result.entries[:3]],
                }
                for alternative in suggestion.alternatives
            ],
        }
    )


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def article_output(name: str, article: Article, output_format: str) -> str:
    """What ``feedpub preview --full-text`` prints of an article page's extracted body: its
    size and its sanitised HTML (text), or both with its text (JSON)."""
    if output_format == "json":
        record = {"url": name, "html": article.html, "text": article.text}
        return json.dumps(record, ensure_ascii=False, indent=2)
    words = len(article.text.split())
    return f"{name}: {words} words of text, as served:\n\n{article.html}"

"""How feedpub's log lines look: human-readable by default, or one JSON object a line for log
shippers (``--log-format json``), with the fields a record carries (source, URL without
credentials, outcome, duration). Configured only by the entry point."""

from __future__ import annotations

import datetime as dt
import json
import logging

#: The human-readable line.
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: How ``feedpub serve`` tells its server processes and its worker the format.
LOG_FORMAT_ENV = "FEEDPUB_LOG_FORMAT"
FORMATS = ("text", "json")
#: The fields a record may carry (``logger.info(..., extra={...})``), kept in JSON lines.
FIELDS = ("source", "url", "outcome", "duration", "error")


class JsonFormatter(logging.Formatter):
    """A record as one JSON object: time (UTC, RFC 3339), level, logger, message, fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            if hasattr(record, name):
                data[name] = getattr(record, name)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def configure(log_format: str, *, verbose: bool = False) -> None:
    """Send log records to standard error in ``log_format`` (``text`` or ``json``): warnings
    and worse, or everything with ``verbose``. In JSON, feedpub's own information (every
    refresh's outcome) too, since shippers want it; other libraries' stays out (an HTTP
    client's lines would carry URLs as fetched, credentials included)."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, handlers=[handler])
    if log_format == "json" and not verbose:
        logging.getLogger("feeds").setLevel(logging.INFO)

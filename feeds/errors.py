"""The one exception tree of feedpub.

Every error a user can cause or meet is a ``FeedpubError``; each also subclasses the builtin it
resembles, so callers may catch either. Messages say what was wrong and where.
"""


class FeedpubError(Exception):
    """Base of every error feedpub raises on purpose."""


class ConfigError(FeedpubError, ValueError):
    """The configuration is malformed: the message names the file and the key path."""


class SourceError(FeedpubError):
    """Something went wrong with one source; ``source`` names it (an id, URL or path)."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.reason = message


class FetchError(SourceError, OSError):
    """A source could not be fetched (network, HTTP status, size cap, unreadable file)."""


class RenderError(FetchError):
    """A page could not be rendered in the browser (``render = "browser"``): the browser is
    missing, crashed, hung or grew too large, the page did not settle in time, or its
    navigation was refused."""


class BrowserUnavailableError(RenderError):
    """The browser cannot be started here: the message says what to install."""


class ParseError(SourceError, ValueError):
    """A fetched document could not be read as what its adapter expects."""


class NotAListingError(ParseError):
    """The document was read, but it holds no dated item: it does not look like a listing."""


class LedgerError(FeedpubError):
    """The ledger's database cannot be used as it is; the message names it (password hidden)."""


class SchemaVersionError(LedgerError, RuntimeError):
    """The database's schema is not the revision this feedpub needs: the message says what
    to run."""


class LedgerUnavailableError(LedgerError, ConnectionError):
    """The database cannot be reached, or the connection to it was lost: try again later."""


class CallbackError(FeedpubError, OSError):
    """A WebSub callback (or an external hub) could not be reached, or did not answer as it
    must; ``url`` names it (a callback's path can be a capability: messages show its host)."""

    def __init__(self, url: str, shown: str, message: str) -> None:
        super().__init__(f"{shown}: {message}")
        self.url = url
        self.reason = message

"""The listing-detection corpus: real pages from public repositories, cached outside the repository.

Run: ``.venv/bin/python -m bench.corpus [--mirror DIR] [--cache DIR]``. Each page in
``bench/corpus.json`` names a repository, a commit and a path; it is read from a local mirror
(``DIR/owner+name/...``, a bare git directory) or downloaded from the commit's raw file, and stored
as bytes under the cache (default ``~/.cache/feedpub-corpus/``, or ``$FEEDPUB_CORPUS``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ANNOTATIONS = Path(__file__).with_name("corpus.json")
RAW_URL = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    """One annotated page of the corpus (see ``bench/corpus.json`` for the fields' meaning)."""

    name: str
    repo: str
    commit: str
    path: str
    url: str
    kind: str
    timezone: str = "UTC"
    language: str = ""
    charset: str | None = None
    item: str = ""
    title: str = ""
    date: str = ""
    items: int = 0
    dated: int = 0
    first_titles: tuple[str, ...] = ()
    first_dates: tuple[str | None, ...] = ()
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def file_name(self) -> str:
        """The page's file in the cache."""
        return f"{self.name}.html"


def load_pages(path: Path = ANNOTATIONS) -> list[Page]:
    """The annotated pages, in file order; ``ValueError`` naming the page for a bad entry."""
    records = json.loads(path.read_text(encoding="utf-8"))["pages"]
    pages = []
    known = {f for f in Page.__dataclass_fields__ if f != "extra"}
    for number, record in enumerate(records):
        try:
            fields = {k: v for k, v in record.items() if k in known}
            fields["first_titles"] = tuple(record.get("first_titles", ()))
            fields["first_dates"] = tuple(record.get("first_dates", ()))
            extra = {k: v for k, v in record.items() if k not in known}
            page = Page(**fields, extra=extra)
        except TypeError as e:
            raise ValueError(f"pages[{number}]: {e}") from e
        if page.kind not in ("listing", "article"):
            raise ValueError(
                f"pages[{number}] ({page.name}).kind: not 'listing' or 'article': {page.kind!r}"
            )
        pages.append(page)
    return pages


def cache_dir(given: str | None = None) -> Path:
    """Where the pages are kept: ``given``, else ``$FEEDPUB_CORPUS``, else the user's cache."""
    if given:
        return Path(given)
    if env := os.environ.get("FEEDPUB_CORPUS"):
        return Path(env)
    return Path.home() / ".cache" / "feedpub-corpus"


def _from_mirror(page: Page, mirror: Path) -> bytes | None:
    base = mirror / page.repo.replace("/", "+")
    for git_dir in (base / "repo" / ".git", base / "repo", base):
        if (git_dir / "HEAD").is_file():
            done = subprocess.run(
                ["git", f"--git-dir={git_dir}", "show", f"{page.commit}:{page.path}"],
                capture_output=True,
                check=False,
            )
            if done.returncode == 0:
                return done.stdout
    return None


def _download(page: Page) -> bytes:
    url = RAW_URL.format(repo=page.repo, commit=page.commit, path=page.path)
    with urllib.request.urlopen(url, timeout=30) as response:
        data: bytes = response.read()
    return data


def assemble(pages: list[Page], cache: Path, mirror: Path | None) -> list[str]:
    """Bring every missing page into ``cache``; the problems met, one line each."""
    cache.mkdir(parents=True, exist_ok=True)
    problems = []
    for page in pages:
        target = cache / page.file_name
        if target.is_file():
            continue
        data = _from_mirror(page, mirror) if mirror is not None else None
        if data is None:
            try:
                data = _download(page)
            except OSError as e:
                problems.append(f"{page.name}: {page.repo}@{page.commit[:10]}:{page.path}: {e}")
                continue
        target.write_bytes(data)
    return problems


def read_page(page: Page, cache: Path) -> bytes:
    """A cached page's bytes (the body alone for a captured HTTP response); ``FileNotFoundError``
    saying how to assemble the corpus."""
    target = cache / page.file_name
    if not target.is_file():
        raise FileNotFoundError(f"{target}: not cached; run python -m bench.corpus first")
    data = target.read_bytes()
    if page.extra.get("http_response"):  # a captured response: the status line and headers first
        for separator in (b"\r\n\r\n", b"\n\n"):
            head, found, body = data.partition(separator)
            if found and head.startswith(b"HTTP/"):
                return body
    return data


def main(argv: list[str] | None = None) -> int:
    """Assemble the corpus; exit status 1 if any page could not be had."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mirror", help="a folder of local git mirrors (owner+name/...)")
    parser.add_argument("--cache", help="where to keep the pages")
    args = parser.parse_args(argv)
    pages = load_pages()
    cache = cache_dir(args.cache)
    problems = assemble(pages, cache, Path(args.mirror) if args.mirror else None)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(pages) - len(problems)} of {len(pages)} pages in {cache}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

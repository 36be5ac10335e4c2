"""feedpub installed from its wheel (``pip install .``, not an editable copy): the wheel holds
the package data (templates, stylesheets, migrations, the bundled samples), and the installed
``feedpub`` upgrades a new database and serves the bundled configuration with no checkout in
sight."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.serving import feedpub_serving

ROOT = Path(__file__).resolve().parent.parent
#: What the checkout holds that a clean clone does not.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache", "test-artifacts", "*.db*"
)
PACKAGE_DATA = (
    "feeds/serve/templates/base.html",
    "feeds/serve/templates/embed.js",
    "feeds/serve/templates/feeds.opml",
    "feeds/serve/static/pages.css",
    "feeds/serve/static/feed.xsl",
    "feeds/ledger/migrations/env.py",
    "feeds/ledger/migrations/script.py.mako",
    "feeds/ledger/migrations/versions/0001_initial.py",
    "sources/samples/feedpub.toml",
    "sources/samples/hq-news.html",
    "feeds/py.typed",
    "server.py",
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with feedpub installed from a wheel built from a copy of the
    checkout; its dependencies are this environment's (a path line, so that this
    environment's editable copy of feedpub is not seen). Returns the environment's folder."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "src"
    shutil.copytree(ROOT, source, ignore=NOT_IN_A_CLONE)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(root / "dist"), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (root / "dist").glob("feedpub-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert [name for name in PACKAGE_DATA if name not in names] == []
    environment = root / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(environment)],
        check=True,
        capture_output=True,
    )
    python = environment / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [*pip, "--python", str(python), "install", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    return environment


def run_installed(
    environment: Path, *args: str, cwd: Path, database_url: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FEEDPUB_DATABASE_URL": database_url}
    env.pop("FEEDPUB_CONFIG", None)
    return subprocess.run(
        [str(environment / "bin" / args[0]), *args[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_installed_copy_is_the_wheel_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    found = run_installed(
        installed,
        "python",
        "-c",
        "import feeds.serve.pages, feeds.ledger.schema, server; "
        "print(feeds.ledger.schema.MIGRATIONS); print(server.__file__)",
        cwd=tmp_path,
        database_url="sqlite://",
    )
    assert found.returncode == 0, found.stderr
    migrations, server = found.stdout.split()
    assert Path(migrations).is_relative_to(installed)
    assert Path(server).is_relative_to(installed)
    assert not Path(migrations).is_relative_to(ROOT)


def test_db_upgrade_finds_the_migrations_of_an_installed_copy(
    installed: Path, tmp_path: Path
) -> None:
    database_url = f"sqlite:///{tmp_path / 'new.db'}"
    upgraded = run_installed(
        installed, "feedpub", "db", "upgrade", cwd=tmp_path, database_url=database_url
    )
    assert upgraded.returncode == 0, upgraded.stderr
    assert "schema upgraded from revision none to" in upgraded.stdout
    current = run_installed(
        installed, "feedpub", "db", "current", cwd=tmp_path, database_url=database_url
    )
    assert current.returncode == 0, current.stderr
    assert current.stdout.strip().endswith("(head)")


def test_the_installed_copy_serves_the_bundled_configuration(
    installed: Path, tmp_path: Path
) -> None:
    with feedpub_serving(
        tmp_path,
        f"sqlite:///{tmp_path / 'feedpub.db'}",
        command=str(installed / "bin" / "feedpub"),
    ) as served:
        feed = served.get("/feeds/all-news.rss")
        index = served.get("/")
        stylesheet = served.get("/feeds/feed.xsl")
    assert feed.status == 200
    assert b"<item>" in feed.body
    assert index.status == 200
    assert b"<html" in index.body
    assert stylesheet.status == 200

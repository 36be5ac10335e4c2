"""The ledger: every entry ever published, each source's state, and how they are stored
(tables, migrations, SQLite and PostgreSQL). Where the refresh and serve wings meet; it knows
neither of them, nor any site."""

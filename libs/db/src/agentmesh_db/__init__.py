"""Database helpers: one engine per service, sessions off the event loop, migrations."""

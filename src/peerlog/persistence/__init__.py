"""Persistence: the msgspec mapper, the SQLite and PostgreSQL recorders, configuration."""

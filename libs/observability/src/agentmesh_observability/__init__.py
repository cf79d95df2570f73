"""Logging and metrics set up once per process."""

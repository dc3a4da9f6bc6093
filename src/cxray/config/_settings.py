"""Environment settings (prefix ``CXRAY_``): where the store and the program config live."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Process-wide settings, read from ``CXRAY_*`` environment variables.

    ``CXRAY_DB``: a path to a DuckDB file or any Ibis connection URL
    (``duckdb:///x.duckdb``, ``postgres://...``); default ``./cxray.duckdb``.
    ``CXRAY_CONFIG``: the program config file; default ``./cxray.toml``.
    """

    model_config = SettingsConfigDict(env_prefix="CXRAY_", extra="ignore")

    db: str = "cxray.duckdb"
    config: str = "cxray.toml"

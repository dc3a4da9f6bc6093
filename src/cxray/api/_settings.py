"""The server's settings, read from ``CXRAY_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ApiSettings"]


class ApiSettings(BaseSettings):
    """How ``cxray serve`` behaves.

    ``CXRAY_MAX_UPLOAD_MB``: the largest request body (an import upload), in MiB.
    ``CXRAY_SESSION_SECRET``: signs login sessions; when unset a random one is
    drawn at start, so sessions end when the server restarts.
    ``CXRAY_SESSION_HOURS``: how long a login lasts.
    ``CXRAY_LOGIN_MAX_FAILURES`` / ``CXRAY_LOGIN_WINDOW_S``: failed logins allowed
    per client address within a sliding window before ``POST /api/login`` answers 429.
    ``CXRAY_RUN_LOOP``: run the closed loop's rules and deliveries in the server (on by
    default when ``cxray.toml`` has rules; off for a second server over the same store).
    """

    model_config = SettingsConfigDict(env_prefix="CXRAY_", extra="ignore")

    max_upload_mb: float = Field(512, gt=0)
    session_secret: str | None = Field(None, min_length=32)
    session_hours: float = Field(12, gt=0)
    login_max_failures: int = Field(5, ge=1)
    login_window_s: float = Field(300, gt=0)
    run_loop: bool = True

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

"""Layer 0, configuration: environment settings and the program config (``cxray.toml``)."""

from cxray.config._program import (
    DEFAULT_CONFIG_TEXT,
    DEFAULT_THEMES,
    KPI_DIRECTIONS,
    BusinessHours,
    HealthConfig,
    JourneyConfig,
    MeasurementConfig,
    ProgramConfig,
    ScaleConfig,
    ThemeConfig,
    Threshold,
    load_program_config,
)
from cxray.config._settings import Settings

__all__ = [
    "DEFAULT_CONFIG_TEXT",
    "DEFAULT_THEMES",
    "KPI_DIRECTIONS",
    "BusinessHours",
    "HealthConfig",
    "JourneyConfig",
    "MeasurementConfig",
    "ProgramConfig",
    "ScaleConfig",
    "Settings",
    "ThemeConfig",
    "Threshold",
    "load_program_config",
]

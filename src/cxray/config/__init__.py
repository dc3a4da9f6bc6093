"""Layer 0, configuration: environment settings and the program config (``cxray.toml``)."""

from cxray.config._program import (
    DEFAULT_CONFIG_TEXT,
    KPI_DIRECTIONS,
    BusinessHours,
    HealthConfig,
    JourneyConfig,
    MeasurementConfig,
    ProgramConfig,
    ScaleConfig,
    Threshold,
    load_program_config,
)
from cxray.config._settings import Settings

__all__ = [
    "DEFAULT_CONFIG_TEXT",
    "KPI_DIRECTIONS",
    "BusinessHours",
    "HealthConfig",
    "JourneyConfig",
    "MeasurementConfig",
    "ProgramConfig",
    "ScaleConfig",
    "Settings",
    "Threshold",
    "load_program_config",
]

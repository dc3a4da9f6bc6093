"""Layer 0, configuration: environment settings and the program config (``cxray.toml``)."""

from cxray.config._program import (
    DEFAULT_CONFIG_TEXT,
    ProgramConfig,
    ScaleConfig,
    load_program_config,
)
from cxray.config._settings import Settings

__all__ = [
    "DEFAULT_CONFIG_TEXT",
    "ProgramConfig",
    "ScaleConfig",
    "Settings",
    "load_program_config",
]

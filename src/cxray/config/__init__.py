"""Layer 0, configuration: environment settings and the program config (``cxray.toml``)."""

from cxray.config._program import (
    DEFAULT_CONFIG_TEXT,
    DEFAULT_THEMES,
    KPI_DIRECTIONS,
    BusinessHours,
    FeaturesConfig,
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
from cxray.config._surveys import (
    Condition,
    Question,
    SurveyDefinition,
    SurveysConfig,
    check_survey_name,
)

__all__ = [
    "DEFAULT_CONFIG_TEXT",
    "DEFAULT_THEMES",
    "KPI_DIRECTIONS",
    "BusinessHours",
    "Condition",
    "FeaturesConfig",
    "HealthConfig",
    "JourneyConfig",
    "MeasurementConfig",
    "ProgramConfig",
    "Question",
    "ScaleConfig",
    "Settings",
    "SurveyDefinition",
    "SurveysConfig",
    "ThemeConfig",
    "Threshold",
    "check_survey_name",
    "load_program_config",
]

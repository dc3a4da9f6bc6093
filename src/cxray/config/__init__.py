"""Layer 0, configuration: environment settings and the program config (``cxray.toml``)."""

from cxray.config._loop import (
    CONDITION_NAMES,
    Comparison,
    Condition,
    LoopConfig,
    LoopRule,
    NotifyTarget,
    check_names,
    parse_condition,
    parse_duration,
)
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
    Condition as ShowIf,
)
from cxray.config._surveys import (
    Question,
    SurveyDefinition,
    SurveysConfig,
    check_survey_name,
)

__all__ = [
    "CONDITION_NAMES",
    "DEFAULT_CONFIG_TEXT",
    "DEFAULT_THEMES",
    "KPI_DIRECTIONS",
    "BusinessHours",
    "Comparison",
    "Condition",
    "FeaturesConfig",
    "HealthConfig",
    "JourneyConfig",
    "LoopConfig",
    "LoopRule",
    "MeasurementConfig",
    "NotifyTarget",
    "ProgramConfig",
    "Question",
    "ScaleConfig",
    "Settings",
    "ShowIf",
    "SurveyDefinition",
    "SurveysConfig",
    "ThemeConfig",
    "Threshold",
    "check_names",
    "check_survey_name",
    "load_program_config",
    "parse_condition",
    "parse_duration",
]

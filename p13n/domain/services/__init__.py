"""Services: what a running process holds and the orchestrators that use it; the step packages
stay pure logic over their models and never import this package."""

from p13n.domain.services.assignment import assign_experiments
from p13n.domain.services.config_bundles import (
    ApplyReport,
    ConfigBundle,
    apply_bundle,
    export_bundle,
    parse_bundle,
)
from p13n.domain.services.config_repository import ConfigRepository, ConfigStore
from p13n.domain.services.decision_configs import DecisionConfigs
from p13n.domain.services.decision_service import DecisionService
from p13n.domain.services.personalization_log import LogEntry, LoggedContent, PersonalizationLog

__all__ = [
    # decisions and configuration
    "ApplyReport",
    "ConfigBundle",
    "ConfigRepository",
    "ConfigStore",
    "DecisionConfigs",
    "DecisionService",
    "LogEntry",
    "LoggedContent",
    "PersonalizationLog",
    "apply_bundle",
    "assign_experiments",
    "export_bundle",
    "parse_bundle",
]

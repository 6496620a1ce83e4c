"""Market surveillance off the hot path: detectors over committed engine events,
and the alerts they raise (see ``detectors.py`` for the rules)."""

from server.consumers.surveillance.config import SurveillanceConfig
from server.consumers.surveillance.detectors import Surveillance
from server.model.alerts import Alert, AlertKind, AlertSeverity

__all__ = ["Alert", "AlertKind", "AlertSeverity", "Surveillance", "SurveillanceConfig"]

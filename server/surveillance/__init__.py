"""Market surveillance off the hot path: detectors over committed engine events,
and the alerts they raise (see ``detectors.py`` for the rules)."""

from server.surveillance.alerts import Alert, AlertKind, AlertSeverity
from server.surveillance.config import SurveillanceConfig
from server.surveillance.detectors import Surveillance

__all__ = ["Alert", "AlertKind", "AlertSeverity", "Surveillance", "SurveillanceConfig"]

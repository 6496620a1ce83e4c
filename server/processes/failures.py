"""How a start that cannot go on ends: one line and an exit code, no traceback."""

from __future__ import annotations

from feeds.curve import CurveKeyError
from server.committed.log import LogError
from server.config import ConfigError
from server.consumers.projector import StoreAheadError
from server.core.exchange import RecoveryError
from server.datadir import DataDirInUseError
from server.hsm.token import HsmError
from server.journal import JournalCorruptError
from server.secret_values import SecretError
from server.transport.credentials import TlsFileError
from server.transport.listen import ListenError

STARTUP_ERRORS = (ConfigError, SecretError, HsmError, ListenError, TlsFileError, CurveKeyError)
"""What ends a start with one line and exit code 2: the operator can fix it."""
REFUSED_STARTS = (
    DataDirInUseError, JournalCorruptError, RecoveryError, StoreAheadError, LogError
)  # fmt: skip
"""What ends a start with one line and exit code 1: the data cannot be served as it is."""
SETTINGS_EXIT = 2
REFUSED_EXIT = 1

"""The public face of ``sandbox.ops``: the health report and backup/restore of an installation."""
from __future__ import annotations

from .backup import BackupError, Outcome, backup, check_manifest, read_manifest, restore
from .health import report as health_report
from .health import version

__all__ = ["BackupError", "Outcome", "backup", "check_manifest", "health_report", "read_manifest", "restore",
           "version"]

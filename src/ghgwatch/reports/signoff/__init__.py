"""Report sign-off: an inventory report goes draft → reviewed → approved (locked) → submitted, and a change of
its inputs after approval makes a restatement (a new version with the differences). See docs/inventory.md."""

from ghgwatch.reports.signoff.models import InventoryReport, ReportFile
from ghgwatch.reports.signoff.rules import State

__all__ = ["InventoryReport", "ReportFile", "State"]

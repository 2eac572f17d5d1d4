"""Hash-chained audit log of every change made through the API or the CLI."""

from ghgwatch.audit.service import AuditProblem, anchor_chain, record, record_update, snapshot, verify

__all__ = ["AuditProblem", "anchor_chain", "record", "record_update", "snapshot", "verify"]

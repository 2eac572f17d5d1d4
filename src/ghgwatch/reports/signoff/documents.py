"""The documents an approval locks: the annual report in Russian and English, as PDF, XLSX and JSON.

They are rendered once, at approval, and kept byte for byte with their SHA-256 (``ReportFile``): the PDF and
XLSX renderers embed their creation time, so rendering again is not bit-identical and could not prove what was
approved. The seal is the SHA-256 of the canonical JSON of the report's identity, its inputs hash and every
document's checksum; it is written to the audit chain with the approval.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any, get_args

from ghgwatch.inventory import canonical_sha256
from ghgwatch.reports import MEDIA_TYPES, ReportFormat, build_annual_report, render_bytes
from ghgwatch.reports.annual import SignOff
from ghgwatch.reports.document import Lang
from ghgwatch.reports.i18n import t

LOCKED_FORMATS: tuple[ReportFormat, ...] = ("pdf", "xlsx", "json")
LOCKED_LANGS: tuple[Lang, ...] = get_args(Lang)


@dataclass(frozen=True, slots=True)
class Rendered:
    name: str
    media_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def render_documents(result: dict[str, Any], org: dict[str, Any] | None, signoff: list[SignOff],
                     meta: dict[str, str | int], today: date,
                     comparison: dict[str, Any] | None = None) -> list[Rendered]:
    """Every locked document of a report (blocking: call it in a worker thread).

    ``meta``: ``report_version`` and, for a restatement, ``restates``; printed in the header.
    ``comparison``: the run's side-by-side comparisons (section "Tiers and measurements side by side").
    """
    out: list[Rendered] = []
    for lang in sorted(LOCKED_LANGS):
        doc = build_annual_report(result, lang, org=org, today=today, signoff=signoff,
                                  comparison=comparison)
        doc.meta.extend((t(key, lang), str(value)) for key, value in meta.items())
        doc.extra.update({"signoff": [{"role": r, "user": u, "date": d.isoformat()} for r, u, d in signoff],
                          **meta})
        out.extend(Rendered(f"annual-{lang}.{fmt}", MEDIA_TYPES[fmt], render_bytes(doc, fmt))
                   for fmt in LOCKED_FORMATS)
    return out


def seal(identity: dict[str, Any], checksums: dict[str, str]) -> str:
    """SHA-256 binding the report's identity and inputs hash to its documents' checksums."""
    return canonical_sha256({**identity, "documents": dict(sorted(checksums.items()))})

"""Who may move a report from one state to the next (docs/inventory.md, "Report sign-off").

* draft → reviewed: an administrator or engineer of the organisation who did not prepare the report;
* reviewed → approved: an administrator who neither prepared nor reviewed it (three people in all, so that
  each step is a separate pair of eyes);
* approved → submitted: an administrator;
* preparing (create, edit, refresh, reject back to draft, check): administrators and engineers;
* operators and auditors read only.

Approved and submitted reports are locked: nothing of them changes; a change of their inputs makes a new
version (a restatement).
"""

from __future__ import annotations

from enum import StrEnum

from ghgwatch.kit.problems import Problem, Term, conflict, forbidden
from ghgwatch.security.models import Role
from ghgwatch.security.principal import WRITERS, Principal


class State(StrEnum):
    DRAFT = "draft"
    REVIEWED = "reviewed"
    APPROVED = "approved"
    SUBMITTED = "submitted"


LOCKED = frozenset({State.APPROVED, State.SUBMITTED})
PREPARERS = WRITERS
REVIEWERS = WRITERS
APPROVERS = frozenset({Role.ADMIN})
SUBMITTERS = frozenset({Role.ADMIN})


ACTION = "report action"
"""The gettext context of the actions ``require_state`` names ("edited", "approved"): in Russian an infinitive,
unlike the state of the same English word."""


def locked(report_id: int, state: str, doing: str) -> Problem:
    return conflict("report {report_id} is {state}: an {state} report is locked and cannot be {doing}; "
                    "a change of its inputs makes a new version (POST .../check)",
                    report_id=report_id, state=Term(state), doing=Term(doing, ACTION))


def require_state(report_id: int, state: str, allowed: set[State], doing: str) -> None:
    if state in allowed:
        return
    if state in LOCKED:
        raise locked(report_id, state, doing)
    need = " or ".join(sorted(allowed))  # a Term: each combination the service names is a msgid of web.po
    raise conflict("report {report_id} is {state}; it must be {need} to be {doing}", report_id=report_id,
                   state=Term(state), need=Term(need), doing=Term(doing, ACTION))


def check_review(actor: Principal, prepared_by: str) -> None:
    if actor.username == prepared_by:
        raise forbidden("'{username}' prepared this report and may not review it: a report is reviewed by "
                        "another administrator or engineer", username=actor.username)
    actor.require_role(REVIEWERS)


def check_approval(actor: Principal, prepared_by: str, reviewed_by: str | None) -> None:
    """Who the actor is first, then the role: the preparer is told why, whatever their role."""
    if actor.username == prepared_by:
        raise forbidden("'{username}' prepared this report and may not approve it: a report is approved by "
                        "a second person, an administrator who neither prepared nor reviewed it",
                        username=actor.username)
    if actor.username == reviewed_by:
        raise forbidden("'{username}' reviewed this report and may not approve it: a report is approved by "
                        "an administrator who neither prepared nor reviewed it", username=actor.username)
    actor.require_role(APPROVERS)

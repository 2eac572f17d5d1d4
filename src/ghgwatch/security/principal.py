"""Who is calling, and what they may do."""

from __future__ import annotations

from dataclasses import dataclass

from ghgwatch.kit.problems import forbidden
from ghgwatch.security.models import Role

WRITERS = frozenset({Role.ADMIN, Role.ENGINEER})
READERS = frozenset(Role)


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: Role
    organization_id: int | None

    @property
    def is_platform_admin(self) -> bool:
        return self.role is Role.ADMIN and self.organization_id is None

    def require_role(self, allowed: frozenset[Role]) -> None:
        if self.role not in allowed:
            raise forbidden("role '{role}' may not do this (needs one of: {roles})", role=self.role,
                            roles=", ".join(sorted(allowed)))

    def require_org(self, organization_id: int) -> None:
        if not self.is_platform_admin and self.organization_id != organization_id:
            raise forbidden("organisation {organization_id} is not yours", organization_id=organization_id)

    def org_filter(self) -> int | None:
        """The organisation a listing is limited to (``None``: every organisation)."""
        return None if self.is_platform_admin else self.organization_id


SYSTEM = Principal(user_id=0, username="cli", role=Role.ADMIN, organization_id=None)

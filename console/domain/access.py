"""Who may do what: roles, permissions and the pages each role sees. Pure rules, no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.IntEnum):
    """Roles are ordered: each one may do everything the one below it may."""

    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @classmethod
    def parse(cls, name: str) -> Role:
        """The role called ``name`` (case and spaces ignored); ValueError names the valid ones."""
        try:
            return cls[name.strip().upper()]
        except KeyError:
            valid = ", ".join(role.name.lower() for role in cls)
            raise ValueError(f"unknown role {name!r}; valid roles are {valid}") from None

    @property
    def label(self) -> str:
        return self.name.lower()


class Permission(enum.Enum):
    READ = "read"
    READ_AUDIT = "read audit log"
    OPERATE_DEPLOYMENT = "operate deployments"
    PROMOTE_MODEL = "promote models"
    OVERRIDE_GATE = "override a failed promotion gate"
    EXPORT_AUDIT = "export the audit log"


_MINIMUM_ROLE: dict[Permission, Role] = {
    Permission.READ: Role.VIEWER,
    Permission.READ_AUDIT: Role.OPERATOR,
    Permission.OPERATE_DEPLOYMENT: Role.OPERATOR,
    Permission.PROMOTE_MODEL: Role.OPERATOR,
    Permission.OVERRIDE_GATE: Role.ADMIN,
    Permission.EXPORT_AUDIT: Role.ADMIN,
}


def is_allowed(role: Role, permission: Permission) -> bool:
    """Whether ``role`` grants ``permission``."""
    return role >= _MINIMUM_ROLE[permission]


def minimum_role(permission: Permission) -> Role:
    """The least role that grants ``permission`` (for the message of a refusal)."""
    return _MINIMUM_ROLE[permission]


@dataclass(frozen=True)
class Actor:
    """The user on whose behalf the console acts."""

    username: str
    display_name: str
    role: Role

    def can(self, permission: Permission) -> bool:
        """Whether this actor's role grants ``permission``."""
        return is_allowed(self.role, permission)


def strongest_role(role_names: list[str] | tuple[str, ...]) -> Role:
    """A user listed with several roles acts with the strongest of them."""
    roles = [Role.parse(name) for name in role_names]
    if not roles:
        raise ValueError("no role given")
    return max(roles)


@dataclass(frozen=True)
class PageSpec:
    """A page of the console and the permission needed to see it."""

    key: str
    title: str
    icon: str
    permission: Permission


PAGES: tuple[PageSpec, ...] = (
    PageSpec("deployments", "Deployments", ":material/deployed_code:", Permission.READ),
    PageSpec("logs", "Logs", ":material/article:", Permission.READ),
    PageSpec("models", "Models", ":material/model_training:", Permission.READ),
    PageSpec("experiments", "Experiments", ":material/science:", Permission.READ),
    PageSpec("slos", "SLOs", ":material/speed:", Permission.READ),
    PageSpec("audit", "Audit", ":material/policy:", Permission.READ_AUDIT),
)


def pages_for(role: Role) -> tuple[PageSpec, ...]:
    """The pages ``role`` may open, in navigation order."""
    return tuple(page for page in PAGES if is_allowed(role, page.permission))

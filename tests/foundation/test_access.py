from __future__ import annotations

import pytest

from console.domain.access import PAGES, Permission, Role, is_allowed, pages_for, strongest_role

EXPECTED = {
    Role.VIEWER: {Permission.READ},
    Role.OPERATOR: {Permission.READ, Permission.READ_AUDIT, Permission.OPERATE_DEPLOYMENT, Permission.PROMOTE_MODEL},
    Role.ADMIN: set(Permission),
}


@pytest.mark.parametrize("role", list(Role))
def test_permission_matrix(role: Role) -> None:
    assert {permission for permission in Permission if is_allowed(role, permission)} == EXPECTED[role]


def test_pages_per_role() -> None:
    assert [page.title for page in pages_for(Role.VIEWER)] == ["Deployments", "Logs", "Models", "Experiments", "SLOs"]
    assert [page.title for page in pages_for(Role.OPERATOR)] == [page.title for page in PAGES]
    assert pages_for(Role.ADMIN) == PAGES


def test_strongest_role_wins() -> None:
    assert strongest_role(["viewer", "admin", "operator"]) is Role.ADMIN
    with pytest.raises(ValueError, match="unknown role 'root'"):
        strongest_role(["root"])

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    """The four staff roles. Each is a Django auth Group of the same name (created by a
    data migration); docs/permissions.md is the matrix of what each may do."""

    AGENT = "agent", "オペレーター"
    SUPERVISOR = "supervisor", "SV"
    ADMIN = "admin", "管理者"
    REVIEWER = "reviewer", "府省レビュー担当"


class AgentProfile(models.Model):
    """Ties a staff user to the login the PBX writes in its call records."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile")
    pbx_login = models.CharField(max_length=64, unique=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.pbx_login})"

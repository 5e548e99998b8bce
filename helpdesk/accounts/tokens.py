"""API tokens (django-rest-knox): issued by `POST /api/auth/token/`, stored only as a digest,
expiring after REST_KNOX["TOKEN_TTL"], and revoked when what they were issued on changes — the
user's password, or the user being deactivated."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.utils import timezone
from knox.models import AuthToken
from knox.settings import knox_settings

from helpdesk.audit import audit_record
from helpdesk.models import AuditEvent


@transaction.atomic
def api_token_issue(*, user: AbstractBaseUser) -> tuple[str, AuthToken]:
    """A new token for `user`: (the key, shown this once, and its stored row). The user's
    expired tokens are removed on the way, and beyond REST_KNOX["TOKEN_LIMIT_PER_USER"] live
    tokens the oldest go: knox reads all of a user's tokens on every request, so a script that
    asks for a token each minute must not pile up thousands. Audit-logged as a login."""
    AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
    limit = knox_settings.TOKEN_LIMIT_PER_USER
    if limit:
        keep = AuthToken.objects.filter(user=user).order_by("-created").values_list("digest", flat=True)[: limit - 1]
        AuthToken.objects.filter(user=user).exclude(digest__in=list(keep)).delete()
    instance, key = AuthToken.objects.create(user=user)
    audit_record(actor=user, action=AuditEvent.Action.LOGIN, object_type="auth.token", object_id=str(user.pk))
    return key, instance


def api_tokens_revoke(*, user: AbstractBaseUser, reason: str) -> int:
    """Delete every token of `user`; audit-logged when there was one. Returns how many."""
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    if deleted:
        audit_record(
            actor="system",
            action=AuditEvent.Action.DELETE,
            object_type="auth.token",
            object_id=str(user.pk),
            changes={"revoked": deleted},
            note=reason,
        )
    return deleted


# --- revocation on password change and deactivation (connected in HelpdeskConfig.ready) ------

_WATCHED = {"password", "is_active"}


def _remember_credentials(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    # Django has no "password changed" signal: compare with the stored row before the save.
    # A save that names its fields (last_login at every sign-in) costs nothing unless it
    # touches the password or is_active.
    instance._token_credentials_changed = None
    if raw or instance.pk is None or (update_fields is not None and not _WATCHED & set(update_fields)):
        return
    stored = sender._default_manager.filter(pk=instance.pk).values("password", "is_active").first()
    if stored is None:
        return
    if stored["password"] != instance.password:
        instance._token_credentials_changed = "password changed"
    elif stored["is_active"] and not instance.is_active:
        instance._token_credentials_changed = "user deactivated"


def _revoke_after_change(sender, instance, raw=False, **kwargs) -> None:
    reason = getattr(instance, "_token_credentials_changed", None)
    if reason and not raw:
        instance._token_credentials_changed = None
        api_tokens_revoke(user=instance, reason=reason)


def connect_token_revocation() -> None:
    user_model = get_user_model()
    pre_save.connect(_remember_credentials, sender=user_model, dispatch_uid="helpdesk_token_credentials")
    post_save.connect(_revoke_after_change, sender=user_model, dispatch_uid="helpdesk_token_revoke")

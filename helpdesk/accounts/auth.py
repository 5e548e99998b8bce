"""`Authorization: Token <key>` for the API: django-rest-knox's check in one query.

knox's own TokenAuthentication reads the token (with its user), then every other token of that
user to delete the expired ones, and the view then reads the user's roles: three queries
before any work, on every API request. Here the token row comes with its user and the user's
roles (helpdesk.roles.role_annotations) in one query. The presented token is still refused and
deleted once expired (knox's `token_expired` signal sent), and the user's other expired tokens
are still removed — when the user is next issued a token (helpdesk.accounts.tokens), which
knox's per-request sweep only did earlier."""

import binascii
from hmac import compare_digest

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox import auth
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework import exceptions

from helpdesk.roles import role_annotations, user_roles_remember


class TokenAuthentication(auth.TokenAuthentication):
    def authenticate_credentials(self, token: bytes):
        msg = _("Invalid token.")
        key = token.decode("utf-8")
        candidates = (
            get_token_model()
            .objects.filter(token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH])
            .select_related("user")
            .annotate(**role_annotations())
        )
        for auth_token in candidates:
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(key)
            except (TypeError, binascii.Error) as exc:
                raise exceptions.AuthenticationFailed(msg) from exc
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                user_roles_remember(auth_token.user, auth_token)
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed(msg)

    def _cleanup_token(self, auth_token) -> bool:
        """True (and the token deleted) when the presented token has expired."""
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            username = auth_token.user.get_username()
            auth_token.delete()
            token_expired.send(sender=self.__class__, username=username, source="auth_token")
            return True
        return False


class TokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme of knox's class, unchanged (`knoxApiToken`), for this one."""

    target_class = "helpdesk.accounts.auth.TokenAuthentication"

"""`Authorization: Token <key>` for the API: django-rest-knox's check in one query.

knox's own TokenAuthentication reads the token (with its user), then every other token of that
user to delete the expired ones, and the view then reads the user's roles: three queries
before any work, on every API request. Here the token row comes with its user and the user's
roles (helpdesk.roles.role_annotations) in one query. The presented token is still refused and
deleted once expired (knox's `token_expired` signal sent), and the user's other expired tokens
are still removed — when the user is next issued a token (helpdesk.accounts.tokens), which
knox's per-request sweep only did earlier."""

import binascii
import functools
from dataclasses import dataclass
from hmac import compare_digest
from types import SimpleNamespace
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
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
        for auth_token, roles in _tokens_with_user_and_roles(key[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(key)
            except (TypeError, binascii.Error) as exc:
                raise exceptions.AuthenticationFailed(msg) from exc
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                user_roles_remember(auth_token.user, roles)
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


@dataclass(frozen=True)
class _Lookup:
    """The token lookup compiled once per process: SQL, and how to turn a row into the token,
    its user and the user's role flags (Django's converters of each column applied, as the
    ORM's compiler would)."""

    sql: str
    role_params: tuple
    token_fields: tuple
    user_fields: tuple
    converters: tuple
    role_names: tuple[str, ...]


def _column(field: Any) -> str:
    """A concrete field's column name (always set for the fields of `concrete_fields`)."""
    assert field.column, field
    return field.column


@functools.cache
def _lookup() -> _Lookup:
    token_model, user_model = get_token_model(), get_user_model()
    qn = connection.ops.quote_name
    token_table, user_table = qn(token_model._meta.db_table), qn(user_model._meta.db_table)
    token_fields = tuple(token_model._meta.concrete_fields)
    user_fields = tuple(user_model._meta.concrete_fields)
    roles = role_annotations()
    columns = [f"{token_table}.{qn(_column(f))}" for f in token_fields]
    columns += [f"{user_table}.{qn(_column(f))}" for f in user_fields]
    columns += [f"({expression.sql})" for expression in roles.values()]
    user_fk = token_model._meta.get_field("user")
    sql = (
        f"SELECT {', '.join(columns)} FROM {token_table} INNER JOIN {user_table} "
        f"ON {user_table}.{qn(_column(user_model._meta.pk))} = {token_table}.{qn(_column(user_fk))} "
        f"WHERE {token_table}.{qn(_column(token_model._meta.get_field('token_key')))} = %s"
    )
    converters = []
    for position, model_field in enumerate((*token_fields, *user_fields)):
        expression = model_field.get_col(model_field.model._meta.db_table)
        found = connection.ops.get_db_converters(expression) + model_field.get_db_converters(connection)
        if found:
            converters.append((position, expression, tuple(found)))
    return _Lookup(
        sql=sql,
        role_params=tuple(p for expression in roles.values() for p in expression.params),
        token_fields=token_fields,
        user_fields=user_fields,
        converters=tuple(converters),
        role_names=tuple(roles),
    )


def _tokens_with_user_and_roles(token_key: str) -> list[tuple[Any, SimpleNamespace]]:
    """The tokens whose lookup prefix is `token_key`, each with its user loaded and the user's
    role flags (`_role_<name>`, read by user_roles_remember): one query, as the ORM's
    `filter(token_key=…).select_related("user").annotate(**role_annotations())` — whose
    building and compiling cost more CPU (about 1.5 ms) than running it, on every API request.
    tests/helpdesk/api/test_token_auth.py holds the two equal."""
    lookup = _lookup()
    with connection.cursor() as cursor:
        cursor.execute(lookup.sql, [*lookup.role_params, token_key])
        rows = cursor.fetchall()
    token_model, user_model = get_token_model(), get_user_model()
    n_token, n_user = len(lookup.token_fields), len(lookup.user_fields)
    found = []
    for raw in rows:
        row = list(raw)
        for position, expression, converters in lookup.converters:
            for convert in converters:
                row[position] = convert(row[position], expression, connection)
        auth_token = token_model.from_db(connection.alias, [f.attname for f in lookup.token_fields], row[:n_token])
        user = user_model.from_db(
            connection.alias, [f.attname for f in lookup.user_fields], row[n_token : n_token + n_user]
        )
        auth_token.user = user
        flags = SimpleNamespace(**dict(zip(lookup.role_names, (bool(v) for v in row[n_token + n_user :]), strict=True)))
        found.append((auth_token, flags))
    return found

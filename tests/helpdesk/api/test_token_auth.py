"""API tokens (`POST /api/auth/token/`, `Authorization: Token <key>`): stored as a digest
only, expiring, revoked by a password change or a deactivation; tokens issued before the
upgrade keep working after it."""

import datetime as dt
import importlib
from types import SimpleNamespace

import pytest
import time_machine
from django.db import connection
from knox.crypto import hash_token
from knox.models import AuthToken
from rest_framework.test import APIRequestFactory

from helpdesk.accounts.auth import TokenAuthentication
from helpdesk.accounts.tokens import api_token_issue
from helpdesk.models import AuditEvent
from helpdesk.roles import assign_roles, user_roles
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "pass-1234-word"
T0 = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC)


def issue(api, username: str) -> str:
    response = api.post("/api/auth/token/", {"username": username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


def can_read(api, key: str) -> int:
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    try:
        return api.get("/api/inquiries/").status_code
    finally:
        api.credentials()


@pytest.fixture
def user(db):
    return UserFactory(username="pbx-import", roles=["agent"])


def test_the_key_is_never_stored(api, user):
    key = issue(api, user.username)
    stored = AuthToken.objects.get(user=user)
    assert stored.digest == hash_token(key) and stored.digest != key
    # Only knox's 15-character lookup prefix; nowhere the whole key.
    assert len(stored.token_key) == 15 and key.startswith(stored.token_key)
    with connection.cursor() as cursor:
        cursor.execute("SELECT digest, token_key FROM knox_authtoken")
        assert all(key not in value for row in cursor.fetchall() for value in row)
    assert can_read(api, key) == 200


def test_each_request_gets_a_new_token_and_both_work(api, user):
    first, second = issue(api, user.username), issue(api, user.username)
    assert first != second
    assert can_read(api, first) == 200 and can_read(api, second) == 200
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN, object_type="auth.token").count() == 2


def test_beyond_the_limit_a_new_token_replaces_the_oldest(api, user, settings):
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_LIMIT_PER_USER": 3}
    keys = []
    for minute in range(5):
        with time_machine.travel(T0 + dt.timedelta(minutes=minute), tick=False):
            keys.append(issue(api, user.username))
    assert AuthToken.objects.filter(user=user).count() == 3
    with time_machine.travel(T0 + dt.timedelta(minutes=6), tick=False):
        assert [can_read(api, k) for k in keys] == [401, 401, 200, 200, 200]


def test_a_token_expires_after_the_configured_days(api, user, settings):
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_TTL": dt.timedelta(days=30)}
    with time_machine.travel(T0, tick=False) as clock:
        response = api.post("/api/auth/token/", {"username": user.username, "password": PASSWORD}, format="json")
        key = response.json()["token"]
        assert response.json()["expiry"].startswith("2026-10-31T")
        clock.move_to(T0 + dt.timedelta(days=29, hours=23))
        assert can_read(api, key) == 200
        clock.move_to(T0 + dt.timedelta(days=30, minutes=1))
        assert can_read(api, key) == 401
    assert not AuthToken.objects.filter(user=user).exists()  # an expired token is removed


def test_a_password_change_revokes_every_token(api, user):
    keys = [issue(api, user.username), issue(api, user.username)]
    user.set_password("another-pass-5678")
    user.save()
    assert [can_read(api, k) for k in keys] == [401, 401]
    assert not AuthToken.objects.filter(user=user).exists()
    event = AuditEvent.objects.get(action=AuditEvent.Action.DELETE, object_type="auth.token")
    assert event.changes == {"revoked": 2} and event.note == "password changed"


def test_deactivating_the_user_revokes_every_token(api, user):
    key = issue(api, user.username)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert not AuthToken.objects.filter(user=user).exists()
    user.is_active = True
    user.save()
    assert can_read(api, key) == 401  # reactivation does not bring the token back


def test_other_saves_of_the_user_keep_the_tokens(api, user, client):
    key = issue(api, user.username)
    user.first_name = "太郎"
    user.save()
    client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})  # saves last_login
    assert can_read(api, key) == 200


@pytest.mark.db_owner  # a migration: run by the owner
def test_a_token_issued_before_the_upgrade_is_converted(api, user):
    """The upgrade migration turns DRF's plaintext tokens into digests: the PBX job's key
    keeps working, and the plaintext table is gone."""
    old_key = "0123456789abcdef0123456789abcdef01234567"  # DRF's format: 40 hex characters
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamp, user_id integer)")
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, CURRENT_TIMESTAMP, %s)", [old_key, user.pk])
    migration = importlib.import_module("helpdesk.migrations.0014_api_tokens_hashed")
    from django.apps import apps

    migration.convert_plain_tokens(apps, SimpleNamespace(connection=connection))  # it uses only the connection
    assert "authtoken_token" not in connection.introspection.table_names()
    assert AuthToken.objects.get(user=user).digest == hash_token(old_key)
    assert can_read(api, old_key) == 200


@pytest.mark.parametrize(
    ("roles", "superuser", "expected"),
    [
        (["agent"], False, {"agent"}),
        (["supervisor", "reviewer"], False, {"supervisor", "reviewer"}),
        ([], False, set()),
        ([], True, {"agent", "supervisor", "admin", "reviewer"}),
    ],
)
def test_the_token_its_user_and_the_users_roles_are_one_query(roles, superuser, expected, django_assert_num_queries):
    """helpdesk.accounts.auth: one query per API request before the view's own, not knox's
    three (the token, the user's other tokens, the user's roles)."""
    someone = UserFactory(username="someone", roles=roles, is_superuser=superuser)
    key, _ = api_token_issue(user=someone)
    request = APIRequestFactory().get("/api/inquiries/", HTTP_AUTHORIZATION=f"Token {key}")
    with django_assert_num_queries(1):
        authenticated, token = TokenAuthentication().authenticate(request)
        assert authenticated == someone and user_roles(authenticated) == expected


def test_a_role_removed_applies_to_the_next_request(api, user):
    key = issue(api, user.username)
    assert can_read(api, key) == 200
    assign_roles(user, [])
    assert can_read(api, key) == 403


def test_the_one_query_lookup_reads_what_the_orm_reads(django_assert_num_queries):
    """helpdesk.accounts.auth reads the token, its user and the roles in one compiled-once
    query; what it builds equals the ORM's select_related + role annotations."""
    from django.forms.models import model_to_dict
    from knox.settings import CONSTANTS

    from helpdesk.accounts.auth import _tokens_with_user_and_roles
    from helpdesk.roles import role_annotations

    agent = UserFactory(username="lookup-agent", roles=["agent", "supervisor"], email="a@example.jp")
    nobody = UserFactory(username="lookup-nobody", roles=[], is_active=False)
    for user in (agent, nobody):
        key = api_token_issue(user=user)[0]
        prefix = key[: CONSTANTS.TOKEN_KEY_LENGTH]
        with django_assert_num_queries(1):
            [(token, flags)] = _tokens_with_user_and_roles(prefix)
        orm = AuthToken.objects.select_related("user").annotate(**role_annotations()).get(token_key=prefix)
        assert model_to_dict(token) == model_to_dict(orm) and token.pk == orm.pk
        assert token.expiry == orm.expiry and token.created == orm.created and token.digest == orm.digest
        assert token.user.pk == user.pk and token._state.adding is False
        assert {f.attname: getattr(token.user, f.attname) for f in type(user)._meta.concrete_fields} == {
            f.attname: getattr(orm.user, f.attname) for f in type(user)._meta.concrete_fields
        }
        assert vars(flags) == {name: getattr(orm, name) for name in role_annotations()}
    assert _tokens_with_user_and_roles("no-such-prefix") == []

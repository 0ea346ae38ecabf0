"""The admin's pages for one user's keys (the "Keys" tab of the admin user page): create for the user (the
secret shown once to the admin, missing subscriptions granted active), edit, block/unblock, revoke, delete,
reset spend. Read-only admins see the tab without buttons and get 403 on every write; another user's key is
a 404; LiteLLM down is a readable message with nothing half-done."""
from __future__ import annotations

import json

import pytest
from django.test import Client

from apikeys import services
from apikeys.models import ApiKey, KeyStatus, KeyType
from litemaas.models import AuditEvent
from subscriptions.models import Subscription, SubscriptionStatus
from tests.apikeys.conftest import make_model, subscribe


def _web(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _secret_in(html: str) -> str:
    return next(part for part in html.split('"') if part.startswith("sk-ltm-") and len(part) > 30)


def _tab(user) -> str:
    return f"/admin-users/{user.pk}/"


def _keys(user) -> str:
    return f"/admin-users/{user.pk}/keys"


@pytest.fixture
def models(db):
    return make_model("gpt-test"), make_model("embed-test", "embeddings")


@pytest.fixture
def target(user, models):
    """The user the admin manages: subscribed to the chat model only."""
    subscribe(user, models[0])
    return user


@pytest.fixture
def admin_web(admin_user):
    return _web(admin_user)


@pytest.fixture
def key(litellm, target):
    return services.apikey_create(user=target, actor=target, model_ids=["gpt-test"], name="laptop",
                                  tpm_limit=10).key


@pytest.mark.django_db
def test_admin_creates_a_key_for_the_user_and_sees_the_secret_once(litellm, admin_web, admin_user, target, caplog):
    form = admin_web.get(f"{_keys(target)}/new")
    assert form.status_code == 200
    html = form.content.decode()
    assert "embed-test" in html and "not subscribed yet, granted with the key" in html
    assert "Never expires" in html  # the ceilings do not bind admins

    caplog.set_level("DEBUG")
    response = admin_web.post(f"{_keys(target)}/new", {"name": "for ada", "model_ids": ["gpt-test", "embed-test"],
                                                       "expiry": "30", "max_budget": "5"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    secret = _secret_in(html)
    assert f"{_tab(target)}?tab=keys" in html  # back to the user's keys, not to the admin's own key page

    key = ApiKey.objects.get(key_type=KeyType.STANDARD)
    assert key.user == target and key.status == KeyStatus.ACTIVE
    remote = litellm.state.keys[key.token_hash]
    assert remote["user_id"] == str(target.pk) and sorted(remote["models"]) == ["embed-test", "gpt-test"]
    granted = Subscription.objects.get(user=target, model_id="embed-test")
    assert granted.status == SubscriptionStatus.ACTIVE

    event = AuditEvent.objects.get(action="apikey.create", target_id=str(key.pk))
    assert event.actor == admin_user and event.metadata["owner"] == str(target.pk)
    assert event.metadata["on_behalf"] is True
    assert secret not in json.dumps([e.metadata for e in AuditEvent.objects.all()])
    assert secret not in caplog.text and secret not in response.get("Location", "")
    assert AuditEvent.objects.filter(target_type="subscription", actor=admin_user).exists()

    # Shown once: the keys tab lists the key by its prefix, never the secret.
    tab = admin_web.get(f"{_tab(target)}?tab=keys").content.decode()
    assert key.masked in tab and secret not in tab


@pytest.mark.django_db
def test_create_errors_stay_on_the_form(litellm, admin_web, target):
    response = admin_web.post(f"{_keys(target)}/new", {"name": "", "model_ids": []})
    assert response.status_code == 422
    assert not ApiKey.objects.exists()


@pytest.mark.django_db
def test_litellm_down_at_create_is_a_message_and_no_active_key(litellm, admin_web, target):
    litellm.set_fault("down")
    response = admin_web.post(f"{_keys(target)}/new", {"name": "x", "model_ids": ["gpt-test"], "expiry": "never"})
    assert response.status_code == 422
    assert "not created" in response.content.decode()
    assert not ApiKey.objects.filter(status=KeyStatus.ACTIVE).exists()
    assert "sk-ltm-" not in response.content.decode()


@pytest.mark.django_db
def test_admin_edits_a_key_of_the_user(litellm, admin_web, admin_user, target, key):
    page = admin_web.get(f"{_keys(target)}/{key.pk}/edit")
    assert page.status_code == 200 and "laptop" in page.content.decode()
    response = admin_web.post(f"{_keys(target)}/{key.pk}/edit", {"name": "renamed", "model_ids": ["gpt-test"],
                                                                 "expiry": "keep", "tpm_limit": ""})
    assert response.status_code == 302 and response["Location"] == f"{_tab(target)}?tab=keys"
    key.refresh_from_db()
    assert key.name == "renamed" and key.tpm_limit is None and key.user == target
    assert litellm.state.keys[key.token_hash]["tpm_limit"] is None
    assert AuditEvent.objects.filter(action="apikey.update", target_id=str(key.pk), actor=admin_user).exists()


@pytest.mark.django_db
def test_admin_blocks_unblocks_resets_spend_and_revokes(litellm, admin_web, admin_user, target, key):
    base = f"{_keys(target)}/{key.pk}"
    assert admin_web.post(f"{base}/block").status_code == 302
    key.refresh_from_db()
    assert key.status == KeyStatus.BLOCKED and litellm.state.keys[key.token_hash]["blocked"] is True
    admin_web.post(f"{base}/unblock")
    key.refresh_from_db()
    assert key.status == KeyStatus.ACTIVE and litellm.state.keys[key.token_hash]["blocked"] is False
    litellm.state.keys[key.token_hash]["spend"] = 3.5
    admin_web.post(f"{base}/reset-spend")
    assert litellm.state.keys[key.token_hash]["spend"] == 0
    response = admin_web.post(f"{base}/revoke", follow=True)
    key.refresh_from_db()
    assert key.status == KeyStatus.REVOKED and key.token_hash not in litellm.state.keys
    assert "Key revoked." in response.content.decode()
    events = AuditEvent.objects.filter(target_id=str(key.pk), actor=admin_user)
    assert {"apikey.block", "apikey.unblock", "apikey.reset_spend", "apikey.revoke"} <= set(
        events.values_list("action", flat=True))
    assert all(e.metadata["owner"] == str(target.pk) for e in events)


@pytest.mark.django_db
def test_admin_deletes_a_key_after_confirming(litellm, admin_web, target, key):
    confirm = admin_web.get(f"{_keys(target)}/{key.pk}/delete")
    assert confirm.status_code == 200 and key.masked in confirm.content.decode()
    key.refresh_from_db()
    assert key.deleted_at is None  # asking changes nothing
    response = admin_web.post(f"{_keys(target)}/{key.pk}/delete")
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.deleted_at is not None and key.token_hash not in litellm.state.keys
    assert key.masked not in admin_web.get(f"{_tab(target)}?tab=keys").content.decode()


@pytest.mark.django_db
def test_litellm_down_on_an_action_is_a_message_and_changes_nothing(litellm, admin_web, target, key):
    litellm.set_fault("down")
    response = admin_web.post(f"{_keys(target)}/{key.pk}/block", follow=True)
    assert response.status_code == 200
    key.refresh_from_db()
    assert key.status == KeyStatus.ACTIVE
    assert "pf-m-danger" in response.content.decode()  # the error message is on the keys tab


@pytest.mark.django_db
def test_keys_tab_shows_buttons_to_admins_only(litellm, admin_web, readonly_admin, target, key):
    admin_html = admin_web.get(f"{_tab(target)}?tab=keys").content.decode()
    assert f"{_keys(target)}/new" in admin_html and f"{_keys(target)}/{key.pk}/block" in admin_html
    ro_html = _web(readonly_admin).get(f"{_tab(target)}?tab=keys").content.decode()
    assert key.masked in ro_html and "laptop" in ro_html
    assert f"{_keys(target)}/" not in ro_html  # no create, edit, action or delete links


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "suffix"), [
    ("get", "new"), ("post", "new"), ("get", "{key}/edit"), ("post", "{key}/edit"), ("get", "{key}/delete"),
    ("post", "{key}/delete"), ("post", "{key}/block"), ("post", "{key}/unblock"), ("post", "{key}/revoke"),
    ("post", "{key}/reset-spend"),
])
def test_readonly_admin_gets_403_and_changes_nothing(litellm, readonly_admin, target, key, method, suffix):
    path = f"{_keys(target)}/{suffix.format(key=key.pk)}"
    web = _web(readonly_admin)
    before = (ApiKey.objects.count(), AuditEvent.objects.count(), dict(litellm.state.keys[key.token_hash]))
    if method == "post":
        response = web.post(path, {"name": "x", "model_ids": ["gpt-test"], "expiry": "keep"})
    else:
        response = web.get(path)
    assert response.status_code == 403
    key.refresh_from_db()
    assert key.status == KeyStatus.ACTIVE and key.name == "laptop"
    assert (ApiKey.objects.count(), AuditEvent.objects.count(), litellm.state.keys[key.token_hash]) == before


@pytest.mark.django_db
def test_ordinary_users_get_404(litellm, target, other_user, key):
    web = _web(other_user)
    assert web.get(f"{_keys(target)}/new").status_code == 404
    assert web.post(f"{_keys(target)}/{key.pk}/block").status_code == 404
    key.refresh_from_db()
    assert key.status == KeyStatus.ACTIVE


@pytest.mark.django_db
def test_a_key_of_another_user_is_404(litellm, admin_web, target, other_user, key, models):
    path = f"{_keys(other_user)}/{key.pk}"  # other_user in the URL, target's key
    assert admin_web.get(f"{path}/edit").status_code == 404
    assert admin_web.get(f"{path}/delete").status_code == 404
    for action in ("block", "unblock", "revoke", "reset-spend", "delete"):
        assert admin_web.post(f"{path}/{action}").status_code == 404
    key.refresh_from_db()
    assert key.status == KeyStatus.ACTIVE and key.deleted_at is None


@pytest.mark.django_db
def test_unknown_action_is_404(litellm, admin_web, target, key):
    assert admin_web.post(f"{_keys(target)}/{key.pk}/rotate").status_code == 404
    assert admin_web.post(f"{_keys(target)}/{key.pk}/explode").status_code == 404


@pytest.mark.django_db
def test_a_failed_create_grants_no_subscription(litellm, admin_web, target):
    litellm.set_fault("down")
    admin_web.post(f"{_keys(target)}/new", {"name": "x", "model_ids": ["embed-test"], "expiry": "never"})
    assert not Subscription.objects.filter(user=target, model_id="embed-test").exists()


@pytest.mark.django_db
def test_a_failed_create_gives_a_pending_subscription_its_status_back(litellm, admin_web, target, models):
    pending = subscribe(target, models[1], status=SubscriptionStatus.PENDING)
    litellm.set_fault("down")

    admin_web.post(f"{_keys(target)}/new", {"name": "x", "model_ids": ["embed-test"], "expiry": "never"})

    pending.refresh_from_db()
    assert pending.status == SubscriptionStatus.PENDING
    assert AuditEvent.objects.filter(action="subscription.grant_reverted").count() == 1
    assert not ApiKey.objects.filter(user=target, status=KeyStatus.ACTIVE).exists()

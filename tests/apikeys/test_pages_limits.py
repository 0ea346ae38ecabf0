"""The key form's per-model limits and team picker, checked against what the LiteLLM double received."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from apikeys import services
from apikeys.models import ApiKey, KeyStatus
from apikeys.services import ModelLimits

CREATE = "/api-keys/new"


@pytest.fixture
def web(subscribed):
    client = Client()
    client.force_login(subscribed)
    return client


@pytest.fixture
def teams(litellm, admin_user, subscribed, other_user):
    """``(mine, theirs)``: a team ``subscribed`` belongs to and one they do not (both known to LiteLLM)."""
    from teams import services as team_services

    mine = team_services.team_create(actor=admin_user, owner=subscribed, name="Research")
    theirs = team_services.team_create(actor=admin_user, owner=other_user, name="Finance")
    return mine, theirs


def _form(**extra):
    data = {"name": "limited", "model_ids": ["gpt-test", "embed-test"], "expiry": "30"}
    data.update(extra)
    return data


def _generate_bodies(litellm):
    return [call["body"] for call in litellm.calls_to("/key/generate", "POST")]


def _update_bodies(litellm):
    return [call["body"] for call in litellm.calls_to("/key/update", "POST")]


@pytest.mark.django_db
def test_create_form_has_one_limit_row_per_model_and_no_rest_api_hint(litellm, web):
    html = web.get(CREATE).content.decode()
    for model in ("gpt-test", "embed-test"):
        for limit in ("max_budget", "budget_duration", "tpm_limit", "rpm_limit"):
            assert f'name="ml-{model}-{limit}"' in html
    assert 'data-portal-model-limit-row="gpt-test"' in html and "js/key-form.js" in html
    assert "REST API (model_limits)" not in html
    assert "Enterprise" in html  # per-model budgets are off by default: the form says why


@pytest.mark.django_db
def test_create_form_sends_per_model_rate_limits_to_litellm(litellm, web):
    response = web.post(CREATE, _form(**{"ml-gpt-test-tpm_limit": "100", "ml-gpt-test-rpm_limit": "5",
                                         "ml-embed-test-rpm_limit": "7"}))
    assert response.status_code == 200, response.content.decode()[:2000]
    (body,) = _generate_bodies(litellm)
    assert body["model_tpm_limit"] == {"gpt-test": 100}
    assert body["model_rpm_limit"] == {"gpt-test": 5, "embed-test": 7}
    assert "model_max_budget" not in body
    key = ApiKey.objects.get()
    links = {link.model_id: link for link in key.model_links.all()}
    assert (links["gpt-test"].tpm_limit, links["gpt-test"].rpm_limit) == (100, 5)
    assert (links["embed-test"].tpm_limit, links["embed-test"].rpm_limit) == (None, 7)
    assert litellm.state.keys[key.token_hash]["metadata"]["model_tpm_limit"] == {"gpt-test": 100}


@pytest.mark.django_db
def test_create_form_without_per_model_values_sends_no_model_maps(litellm, web):
    assert web.post(CREATE, _form()).status_code == 200
    (body,) = _generate_bodies(litellm)
    assert not {"model_tpm_limit", "model_rpm_limit", "model_max_budget"} & set(body)


@pytest.mark.django_db
def test_limit_on_an_unticked_model_is_a_field_error_and_nothing_reaches_litellm(litellm, web):
    response = web.post(CREATE, _form(model_ids=["gpt-test"], **{"ml-embed-test-tpm_limit": "50"}))
    assert response.status_code == 422
    assert "Tick embed-test under Models, or clear this limit." in response.content.decode()
    assert not _generate_bodies(litellm) and not ApiKey.objects.exists()


@pytest.mark.django_db
def test_per_model_budget_needing_enterprise_says_the_key_was_not_created(litellm, web, settings):
    settings.APIKEY_PER_MODEL_BUDGET_ENABLED = True
    response = web.post(CREATE, _form(**{"ml-gpt-test-max_budget": "1.5", "ml-gpt-test-budget_duration": "7d",
                                         "ml-gpt-test-tpm_limit": "100"}))
    html = response.content.decode()
    assert response.status_code == 422
    assert "Enterprise" in html and "the key was not created" in html
    # The double (like LiteLLM without a licence) refused the real model_max_budget shape; nothing is left.
    (body,) = _generate_bodies(litellm)
    assert body["model_max_budget"] == {"gpt-test": {"budget_limit": 1.5, "time_period": "7d"}}
    assert not litellm.state.keys
    assert ApiKey.objects.get().status == KeyStatus.FAILED
    assert 'value="1.5"' in html  # the user's input is kept to fix


@pytest.mark.django_db
def test_per_model_budget_when_not_enabled_is_refused_before_litellm(litellm, web):
    html = web.get(CREATE).content.decode()
    assert 'name="ml-gpt-test-max_budget"' in html and "data-portal-locked" in html
    response = web.post(CREATE, _form(**{"ml-gpt-test-max_budget": "1"}))  # forged past the disabled input
    assert response.status_code == 422 and "the key was not created" in response.content.decode()
    assert not _generate_bodies(litellm) and not ApiKey.objects.exists()


@pytest.mark.django_db
def test_edit_form_prefills_per_model_limits_and_clearing_one_clears_it_in_litellm(litellm, web, subscribed):
    key = services.apikey_create(user=subscribed, actor=subscribed, model_ids=["gpt-test", "embed-test"], name="k",
                                 model_limits={"gpt-test": ModelLimits(tpm_limit=100, rpm_limit=5)}).key
    edit_url = f"/api-keys/{key.pk}/edit"
    html = web.get(edit_url).content.decode()
    assert 'name="ml-gpt-test-tpm_limit" value="100"' in html and 'name="ml-gpt-test-rpm_limit" value="5"' in html

    response = web.post(edit_url, _form(name="k", expiry="keep", **{"ml-gpt-test-tpm_limit": "",
                                                                    "ml-gpt-test-rpm_limit": "5"}))
    assert response.status_code == 302, response.content.decode()[:2000]
    body = _update_bodies(litellm)[-1]
    assert body["model_tpm_limit"] == {}  # {} is what really clears the map in LiteLLM
    assert body["model_rpm_limit"] == {"gpt-test": 5}
    metadata = litellm.state.keys[key.token_hash]["metadata"]
    assert metadata["model_tpm_limit"] == {} and metadata["model_rpm_limit"] == {"gpt-test": 5}
    link = key.model_links.get(model_id="gpt-test")
    assert (link.tpm_limit, link.rpm_limit) == (None, 5)

    web.post(edit_url, _form(name="k", expiry="keep"))  # every per-model value emptied
    assert _update_bodies(litellm)[-1]["model_rpm_limit"] == {}
    assert not key.model_links.filter(rpm_limit__isnull=False).exists()


@pytest.mark.django_db
def test_edit_without_per_model_changes_sends_no_model_maps(litellm, web, subscribed):
    key = services.apikey_create(user=subscribed, actor=subscribed, model_ids=["gpt-test"], name="k",
                                 model_limits={"gpt-test": ModelLimits(tpm_limit=100)}).key
    response = web.post(f"/api-keys/{key.pk}/edit", _form(name="renamed", model_ids=["gpt-test"], expiry="keep",
                                                           **{"ml-gpt-test-tpm_limit": "100"}))
    assert response.status_code == 302
    body = _update_bodies(litellm)[-1]
    assert body["key_alias"].startswith("renamed") and "model_tpm_limit" not in body


@pytest.mark.django_db
def test_team_picker_lists_only_the_users_teams(litellm, web, teams):
    mine, theirs = teams
    html = web.get(CREATE).content.decode()
    assert f'value="{mine.pk}"' in html and "Research" in html
    assert str(theirs.pk) not in html and "Finance" not in html
    assert "No team" in html


@pytest.mark.django_db
def test_forged_team_id_is_a_form_error_without_litellm_call(litellm, web, teams):
    _mine, theirs = teams
    response = web.post(CREATE, _form(team_id=str(theirs.pk)))
    assert response.status_code == 422
    assert "Choose one of your teams." in response.content.decode()
    assert not _generate_bodies(litellm) and not ApiKey.objects.exists()
    garbage = web.post(CREATE, _form(team_id="not-a-uuid"))
    assert garbage.status_code == 422 and not _generate_bodies(litellm)


@pytest.mark.django_db
def test_chosen_team_is_sent_as_team_id_and_shown_on_the_key(litellm, web, teams):
    mine, _theirs = teams
    assert web.post(CREATE, _form(team_id=str(mine.pk))).status_code == 200
    (body,) = _generate_bodies(litellm)
    assert body["team_id"] == str(mine.pk)
    key = ApiKey.objects.get()
    assert key.team_id == mine.pk
    detail = web.get(f"/api-keys/{key.pk}/").content.decode()
    assert "Research" in detail


@pytest.mark.django_db
def test_edit_form_prefills_the_team_and_moves_the_key_off_it(litellm, web, subscribed, teams):
    mine, theirs = teams
    key = services.apikey_create(user=subscribed, actor=subscribed, model_ids=["gpt-test"], name="k",
                                 team_id=mine.pk).key
    edit_url = f"/api-keys/{key.pk}/edit"
    html = web.get(edit_url).content.decode()
    assert f'<option value="{mine.pk}" selected>' in html
    forged = web.post(edit_url, _form(name="k", model_ids=["gpt-test"], expiry="keep", team_id=str(theirs.pk)))
    assert forged.status_code == 422 and not _update_bodies(litellm)
    response = web.post(edit_url, _form(name="k", model_ids=["gpt-test"], expiry="keep", team_id=""))
    assert response.status_code == 302
    assert {"key": key.token_hash, "team_id": None} in _update_bodies(litellm)
    key.refresh_from_db()
    assert key.team_id is None and litellm.state.keys[key.token_hash]["team_id"] is None


@pytest.mark.django_db
def test_team_member_cap_error_lands_on_the_budget_field(litellm, web, subscribed, teams):
    from teams.models import Membership

    mine, _theirs = teams
    Membership.objects.filter(team=mine, user=subscribed).update(max_budget=Decimal("5"))
    response = web.post(CREATE, _form(team_id=str(mine.pk), max_budget="9"))
    assert response.status_code == 422 and "Your cap in this team" in response.content.decode()
    assert not _generate_bodies(litellm)


@pytest.mark.django_db
def test_edit_keeps_the_current_team_after_the_user_left_it(litellm, web, subscribed, teams):
    from teams.models import Membership

    mine, _theirs = teams
    key = services.apikey_create(user=subscribed, actor=subscribed, model_ids=["gpt-test"], name="k",
                                 team_id=mine.pk).key
    Membership.objects.filter(team=mine, user=subscribed).delete()
    edit_url = f"/api-keys/{key.pk}/edit"
    html = web.get(edit_url).content.decode()
    assert f'<option value="{mine.pk}" selected>Research (current)</option>' in html
    response = web.post(edit_url, _form(name="renamed", model_ids=["gpt-test"], expiry="keep", team_id=str(mine.pk)))
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.team_id == mine.pk and key.name == "renamed"
    assert not [body for body in _update_bodies(litellm) if "team_id" in body]

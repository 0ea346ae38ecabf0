"""LiteLLM's refusals when a key is charged to a team become clear 400s, not 'broken' keys or 502s."""
from unittest import mock

import pytest

from apikeys.services import remote
from integrations.litellm.errors import LiteLLMNotFound, LiteLLMRejected
from litemaas.exceptions import ValidationFailed


class _Key:
    token_hash = "a" * 64


def _client(set_team_error, key_exists=True):
    client = mock.Mock()
    client.key_set_team.side_effect = set_team_error
    client.key_get.return_value = object() if key_exists else None
    return client


def test_unknown_team_is_a_validation_error_not_a_broken_key():
    with mock.patch.object(remote, "_client", return_value=_client(LiteLLMNotFound("no team"))):
        with pytest.raises(ValidationFailed) as caught:
            remote._remote_set_team(key=_Key(), team_id="t1")
    assert "team_id" in caught.value.details["fields"]


def test_missing_key_still_surfaces_as_not_found():
    client = _client(LiteLLMNotFound("no key"), key_exists=False)
    with mock.patch.object(remote, "_client", return_value=client):
        with pytest.raises(LiteLLMNotFound):
            remote._remote_set_team(key=_Key(), team_id="t1")


def test_team_policy_refusal_is_a_validation_error_with_litellm_reason():
    refusal = LiteLLMRejected("refused", status=403, reason="team_model_access_denied")
    with mock.patch.object(remote, "_client", return_value=_client(refusal)):
        with pytest.raises(ValidationFailed, match="team_model_access_denied"):
            remote._remote_set_team(key=_Key(), team_id="t1")


def test_other_rejections_pass_through():
    refusal = LiteLLMRejected("bad", status=422, reason="bad request")
    with mock.patch.object(remote, "_client", return_value=_client(refusal)):
        with pytest.raises(LiteLLMRejected):
            remote._remote_set_team(key=_Key(), team_id="t1")

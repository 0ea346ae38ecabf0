"""API views of ``apikeys``: scoped querysets from selectors, one service call per write.

Another user's key is 404 on every route (the selector never returns it). Responses that carry a secret
(create, rotate) are sent with ``Cache-Control: no-store``.
"""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys import selectors, services
from apikeys.api.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateInputSerializer,
    ApiKeyOutputSerializer,
    ApiKeySettingsSerializer,
    ApiKeyUpdateInputSerializer,
    KeySelfSerializer,
    ReasonInputSerializer,
    RotateInputSerializer,
)
from apikeys.keygen import hash_secret
from apikeys.models import ApiKey, ApiKeySettings, KeyStatus
from litemaas.api.permissions import IsAdminOrReadOnlyAdmin

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _created_response(created: services.CreatedApiKey) -> Response:
    body = ApiKeyCreatedSerializer(created.key, context={"secret": created.secret, "warnings": created.warnings}).data
    return Response(body, status=status.HTTP_201_CREATED, headers=NO_STORE)


class _KeyActionsMixin:
    """The actions shared by the owner's and the admin's key routes; subclasses say how to find the key
    (scoped) and whose key it is. Each action calls exactly one service."""

    lookup_value_regex = "[^/]+"
    serializer_class = ApiKeyOutputSerializer

    def get_key(self) -> ApiKey:  # pragma: no cover - overridden
        raise NotImplementedError

    def owner(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def enforce_policy(self) -> bool:
        return True

    def _out(self, key: ApiKey, *, live: Any = None, http_status: int = status.HTTP_200_OK) -> Response:
        return Response(ApiKeyOutputSerializer(key, context={"live_spend": live}).data, status=http_status)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        live = selectors.apikey_live_spend_for_user(user=self.owner()) if page else None
        data = ApiKeyOutputSerializer(page, many=True, context={"live_spend": live}).data
        return self.get_paginated_response(data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = self.get_key()
        return self._out(key, live=selectors.apikey_live_spend_for_user(user=key.user))

    @extend_schema(request=ApiKeyUpdateInputSerializer, responses=ApiKeyOutputSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = self.get_key()
        data = ApiKeyUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        key = services.apikey_update(key=key, actor=request.user, enforce_policy=self.enforce_policy(),
                                     request=request, **data.to_service_kwargs())
        return self._out(key)

    # The key as deleted (202 while LiteLLM has not confirmed yet); the schema said 204 with no body.
    @extend_schema(responses={200: ApiKeyOutputSerializer, 202: ApiKeyOutputSerializer})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = services.apikey_delete(key=self.get_key(), actor=request.user, request=request)
        return self._revocation_response(key)

    def _revocation_response(self, key: ApiKey) -> Response:
        pending = key.status == KeyStatus.REVOKING
        return self._out(key, http_status=status.HTTP_202_ACCEPTED if pending else status.HTTP_200_OK)

    @extend_schema(request=RotateInputSerializer, responses={201: ApiKeyCreatedSerializer})
    @action(detail=True, methods=["post"])
    def rotate(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = RotateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.apikey_rotate(key=self.get_key(), actor=request.user,
                                         grace_hours=data.validated_data["grace_hours"], request=request)
        return _created_response(created)

    @extend_schema(request=ReasonInputSerializer, responses=ApiKeyOutputSerializer)
    @action(detail=True, methods=["post"])
    def block(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = services.apikey_block(key=self.get_key(), actor=request.user, reason=data.validated_data["reason"],
                                    request=request)
        return self._out(key)

    @extend_schema(request=None, responses=ApiKeyOutputSerializer)
    @action(detail=True, methods=["post"])
    def unblock(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._out(services.apikey_unblock(key=self.get_key(), actor=request.user, request=request))

    @extend_schema(request=ReasonInputSerializer, responses={200: ApiKeyOutputSerializer, 202: ApiKeyOutputSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = services.apikey_revoke(key=self.get_key(), actor=request.user, reason=data.validated_data["reason"],
                                     request=request)
        return self._revocation_response(key)

    @extend_schema(request=None, responses=ApiKeyOutputSerializer)
    @action(detail=True, methods=["post"], url_path="reset-spend")
    def reset_spend(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._out(services.apikey_reset_spend(key=self.get_key(), actor=request.user, request=request))


class ApiKeyViewSet(_KeyActionsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                    viewsets.GenericViewSet):
    """The caller's own keys: ``/api-keys`` and ``/api-keys/{id}`` with its actions."""

    def get_queryset(self):
        return selectors.apikey_list_for_user(user=self.request.user, status=self.request.query_params.get("status"))

    def get_key(self) -> ApiKey:
        return selectors.apikey_get_for_user(user=self.request.user, key_id=self.kwargs["pk"])

    def owner(self) -> Any:
        return self.request.user

    @extend_schema(request=ApiKeyCreateInputSerializer, responses={201: ApiKeyCreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ApiKeyCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.apikey_create(user=request.user, actor=request.user, request=request,
                                         **data.to_service_kwargs())
        return _created_response(created)


@extend_schema(parameters=[OpenApiParameter("user_id", OpenApiTypes.UUID, OpenApiParameter.PATH)])
class AdminUserApiKeyViewSet(_KeyActionsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                             mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """An admin managing one user's keys: ``/admin/users/{user_id}/api-keys[/{id}]`` with the same actions.

    Read-only admins may list and read; every write needs the admin role. Admins are not bound by the
    self-service ceilings and may create keys on models the user is not yet subscribed to (granted first).
    """

    permission_classes = [IsAdminOrReadOnlyAdmin]

    def target_user(self) -> Any:
        if not hasattr(self, "_target_user"):
            self._target_user = get_object_or_404(get_user_model(), pk=self.kwargs["user_id"])
        return self._target_user

    def owner(self) -> Any:
        return self.target_user()

    def enforce_policy(self) -> bool:
        return False

    def get_queryset(self):
        return selectors.apikey_list_for_admin(actor=self.request.user, target_user=self.target_user())

    def get_key(self) -> ApiKey:
        return selectors.apikey_get_for_admin(actor=self.request.user, target_user=self.target_user(),
                                              key_id=self.kwargs["pk"])

    @extend_schema(request=ApiKeyCreateInputSerializer, responses={201: ApiKeyCreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ApiKeyCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        kwargs_ = data.to_service_kwargs()
        created = services.apikey_admin_create_for_user(actor=request.user, target_user=self.target_user(),
                                                        request=request, **kwargs_)
        return _created_response(created)


# ---------------------------------------------------------------------------------------------------------
# /keys/self: authenticated by the LiteLLM key itself
# ---------------------------------------------------------------------------------------------------------
class LiteLLMKeyAuthentication:
    """``Authorization: Bearer sk-…``: the caller is the key (its SHA-256 must match an active, unexpired
    portal key). Local to ``/keys/self``; no portal session or personal token is involved."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value.startswith("sk-"):
            return None
        key = selectors.apikey_get_usable_by_hash(token_hash=hash_secret(value))
        if key is None or not key.user.is_active:
            raise AuthenticationFailed("Invalid, blocked, revoked or expired key.")
        return key.user, key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class IsLiteLLMKey(BasePermission):
    """Only requests authenticated by :class:`LiteLLMKeyAuthentication`."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(getattr(request, "auth", None), ApiKey)


class KeySelfView(APIView):
    """``GET /keys/self``: the calling key's models, limits, remaining budget and reset date (LiteLLM's live
    figures, or the portal's last known ones when LiteLLM is down)."""

    authentication_classes = [LiteLLMKeyAuthentication]
    permission_classes = [IsLiteLLMKey]

    @extend_schema(responses=KeySelfSerializer, auth=[])
    def get(self, request: Request) -> Response:
        key: ApiKey = request.auth
        info = selectors.apikey_self_info(key=key)
        services.apikey_touch_last_used(key=key)
        return Response(KeySelfSerializer(info).data, headers={"Cache-Control": "no-store"})


# ---------------------------------------------------------------------------------------------------------
# Admin settings
# ---------------------------------------------------------------------------------------------------------
class ApiKeySettingsView(APIView):
    """``GET/PUT /admin/settings/api-key-limits``: key defaults and ceilings (read-only admins may read)."""

    permission_classes = [IsAdminOrReadOnlyAdmin]

    @extend_schema(responses=ApiKeySettingsSerializer)
    def get(self, request: Request) -> Response:
        return Response(ApiKeySettingsSerializer(ApiKeySettings.load()).data)

    @extend_schema(request=ApiKeySettingsSerializer, responses=ApiKeySettingsSerializer)
    def put(self, request: Request) -> Response:
        data = ApiKeySettingsSerializer(ApiKeySettings.load(), data=request.data)
        data.is_valid(raise_exception=True)
        obj = services.apikey_settings_update(actor=request.user, values=dict(data.validated_data), request=request)
        return Response(ApiKeySettingsSerializer(obj).data)


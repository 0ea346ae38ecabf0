"""API views of ``accounts``: scoped querysets from selectors, one service call per write."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import (
    MeSerializer,
    MeUpdateInputSerializer,
    TokenCreatedSerializer,
    TokenCreateInputSerializer,
    TokenSerializer,
)
from accounts.models import PersonalAccessToken
from accounts.profile_services import user_update_profile
from accounts.selectors import token_list_for_user
from accounts.token_services import token_create, token_revoke
from litemaas.api.serializers import ErrorSerializer

_UUID_PATTERN = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


@extend_schema_view(
    list=extend_schema(summary="List your personal access tokens (revoked ones are gone)"),
    create=extend_schema(
        summary="Create a personal access token (the secret is in this response only)",
        request=TokenCreateInputSerializer,
        responses={201: TokenCreatedSerializer, 400: ErrorSerializer, 403: ErrorSerializer},
    ),
    destroy=extend_schema(
        summary="Revoke one of your personal access tokens",
        responses={204: OpenApiResponse(description="Revoked."), 404: ErrorSerializer},
    ),
)
class TokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """The caller's personal access tokens: list, create, revoke."""

    serializer_class = TokenSerializer
    lookup_value_regex = _UUID_PATTERN
    queryset = PersonalAccessToken.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self) -> QuerySet[PersonalAccessToken]:
        return token_list_for_user(self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = TokenCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, secret = token_create(user=request.user, request=request, **data.validated_data)
        body = TokenCreatedSerializer(token, context={"secret": secret}).data
        # The secret must not be kept by any cache or proxy between us and the client.
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})

    def perform_destroy(self, instance: PersonalAccessToken) -> None:
        token_revoke(token=instance, actor=self.request.user, request=self.request)


class MeView(APIView):
    """The caller's own profile; only a few preferences are writable."""

    @extend_schema(summary="Your profile", responses={200: MeSerializer})
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)

    @extend_schema(
        summary="Change your name or interface preferences",
        request=MeUpdateInputSerializer,
        responses={200: MeSerializer, 400: ErrorSerializer},
    )
    def patch(self, request: Request) -> Response:
        data = MeUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_update_profile(user=request.user, changes=data.validated_data, request=request)
        return Response(MeSerializer(user).data)

"""API views of ``subscriptions``: scoped querysets from selectors, one service call per write."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from integrations.sync_runs import sync_run_list
from litemaas.api.permissions import IsAdminOrReadOnlyAdmin, TokenScopePermission
from litemaas.api.serializers import ErrorSerializer
from subscriptions import selectors, services
from subscriptions.api import serializers as s
from subscriptions.models import ModelType


class ModelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The public catalogue: available models. Anonymous callers may read it (without access state)."""

    serializer_class = s.PublicModelSerializer
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle, UserRateThrottle]
    lookup_field = "pk"
    lookup_url_kwarg = "model_id"

    def get_queryset(self):
        params = self.request.query_params
        return selectors.model_list_for_user(user=self.request.user, search=params.get("search", "").strip(),
                                             provider=params.get("provider", ""),
                                             capability=params.get("capability", ""))

    def get_object(self):
        return selectors.model_get_for_user(user=self.request.user, model_id=self.kwargs["model_id"])

    @extend_schema(parameters=[
        OpenApiParameter("search", str), OpenApiParameter("provider", str),
        OpenApiParameter("capability", str, enum=list(selectors._CAPABILITY_FILTERS)),
    ])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        capability = request.query_params.get("capability", "")
        if capability and capability not in selectors._CAPABILITY_FILTERS:  # the schema's enum; "" = any
            raise ValidationError({"capability": [f"Not one of: {', '.join(selectors._CAPABILITY_FILTERS)}."]})
        return super().list(request, *args, **kwargs)


class SubscriptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's own subscriptions: subscribe, cancel, ask for another review."""

    serializer_class = s.SubscriptionSerializer

    def get_queryset(self):
        params = self.request.query_params
        return selectors.subscription_list_for_user(user=self.request.user, status=params.get("status", ""),
                                                    model_id=params.get("model_id", ""))

    def get_object(self):
        return selectors.subscription_get_for_user(user=self.request.user, subscription_id=self.kwargs["pk"])

    # 404: the model_id names no catalogue model; 409: the caller already has a subscription to it.
    @extend_schema(request=s.SubscriptionCreateSerializer,
                   responses={201: s.SubscriptionSerializer, 404: ErrorSerializer, 409: ErrorSerializer})
    def create(self, request: Request) -> Response:
        data = _valid(s.SubscriptionCreateSerializer, request.data)
        subscription = services.subscription_create(user=request.user, model_id=data["model_id"],
                                                    expires_at=data.get("expires_at"), request=request)
        return Response(s.SubscriptionSerializer(subscription).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.SubscriptionSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        subscription = services.subscription_cancel(user=request.user, subscription_id=pk, request=request)
        return Response(s.SubscriptionSerializer(subscription).data)

    @extend_schema(request=s.RequestReviewSerializer, responses=s.SubscriptionSerializer)
    @action(detail=True, methods=["post"], url_path="request-review")
    def request_review(self, request: Request, pk: str) -> Response:
        data = _valid(s.RequestReviewSerializer, request.data)
        subscription = services.subscription_request_review(user=request.user, subscription_id=pk,
                                                            reason=data.get("reason", ""), request=request)
        return Response(s.SubscriptionSerializer(subscription).data)


class AdminModelViewSet(viewsets.GenericViewSet):
    """Model management for admins (read-only admins may read); writes go through to LiteLLM first."""

    permission_classes = [IsAdminOrReadOnlyAdmin, TokenScopePermission]
    serializer_class = s.AdminModelSerializer
    # The URL names the model ``model_id``; DRF's OPTIONS (metadata) calls get_object() with these (it was a 500).
    lookup_field = "pk"
    lookup_url_kwarg = "model_id"

    def get_queryset(self):
        params = self.request.query_params
        return selectors.model_list_admin(search=params.get("search", "").strip(),
                                          availability=params.get("availability", ""))

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.AdminModelSerializer(page, many=True).data)

    def retrieve(self, request: Request, model_id: str) -> Response:
        return Response(s.AdminModelSerializer(selectors.model_get_admin(model_id=model_id)).data)

    # 409: a model with this id already exists.
    @extend_schema(request=s.AdminModelCreateSerializer, responses={201: s.AdminModelSerializer, 409: ErrorSerializer})
    def create(self, request: Request) -> Response:
        data = _valid(s.AdminModelCreateSerializer, request.data)
        model = services.model_create(actor=request.user, model_id=data.pop("id"), data=data, request=request)
        return Response(s.AdminModelSerializer(model).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.AdminModelUpdateSerializer, responses=s.AdminModelSerializer)
    def update(self, request: Request, model_id: str) -> Response:
        data = _valid(s.AdminModelUpdateSerializer, request.data)
        model = services.model_update(actor=request.user, model_id=model_id, data=data, request=request)
        return Response(s.AdminModelSerializer(model).data)

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request: Request, model_id: str) -> Response:
        services.model_delete(actor=request.user, model_id=model_id, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=s.ModelTestSerializer, responses=s.ProbeResultSerializer)
    def test(self, request: Request) -> Response:
        data = _valid(s.ModelTestSerializer, request.data)
        result = services.model_test_configuration(
            actor=request.user, api_base=data["api_base"], backend_model_name=data["backend_model_name"],
            api_key=data.get("api_key", ""), model_id=data.get("model_id", ""),
            document_conversion=data["model_type"] == ModelType.DOCUMENT_CONVERSION,
        )
        return Response({"success": result.success, "result": result.result, "message": result.message,
                         "available_models": result.available_models})

    @extend_schema(request=s.ModelSyncInputSerializer, responses=s.SyncResultSerializer)
    def sync(self, request: Request) -> Response:
        data = _valid(s.ModelSyncInputSerializer, request.data)
        result = services.model_sync_from_litellm(actor=request.user, force=data["force"])
        return Response(asdict(result))


class AdminSyncRunViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Recorded sync runs, newest first (admins and read-only admins)."""

    permission_classes = [IsAdminOrReadOnlyAdmin, TokenScopePermission]
    serializer_class = s.SyncRunSerializer

    def get_queryset(self):
        return sync_run_list(kind=self.request.query_params.get("kind") or None)


class AdminSubscriptionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The review queue: read for admins and read-only admins, every action for admins only."""

    permission_classes = [IsAdminOrReadOnlyAdmin, TokenScopePermission]
    serializer_class = s.AdminSubscriptionSerializer

    def get_queryset(self):
        params = self.request.query_params
        filters = _valid(s.AdminQueueFilterSerializer, {
            "status": params.getlist("status"), "model": params.getlist("model"),
            "user": params.getlist("user"),
            **{k: params[k] for k in ("date_from", "date_to") if params.get(k)},
        })
        return selectors.subscription_list_admin(
            statuses=sorted(filters.get("status") or []), model_ids=filters.get("model"),
            user_ids=filters.get("user"), date_from=filters.get("date_from"), date_to=filters.get("date_to"),
        )

    @extend_schema(responses=s.AdminSubscriptionDetailSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        subscription = selectors.subscription_get_admin(subscription_id=pk)
        return Response(s.AdminSubscriptionDetailSerializer(subscription).data)

    @extend_schema(request=s.BulkApproveSerializer, responses=s.BulkResultSerializer)
    def approve(self, request: Request) -> Response:
        data = _valid(s.BulkApproveSerializer, request.data)
        result = services.subscriptions_bulk_approve(actor=request.user, subscription_ids=data["subscription_ids"],
                                                     comment=data.get("reason", ""), request=request)
        return Response(asdict(result))

    @extend_schema(request=s.BulkDenySerializer, responses=s.BulkResultSerializer)
    def deny(self, request: Request) -> Response:
        data = _valid(s.BulkDenySerializer, request.data)
        result = services.subscriptions_bulk_deny(actor=request.user, subscription_ids=data["subscription_ids"],
                                                  reason=data["reason"], request=request)
        return Response(asdict(result))

    @extend_schema(request=s.StatusChangeSerializer, responses=s.AdminSubscriptionSerializer)
    def change_status(self, request: Request, pk: str) -> Response:
        data = _valid(s.StatusChangeSerializer, request.data)
        subscription = services.subscription_change_status(actor=request.user, subscription_id=pk,
                                                           new_status=data["status"],
                                                           reason=data.get("reason", ""), request=request)
        return Response(s.AdminSubscriptionSerializer(subscription).data)

    @extend_schema(request=s.AdminDeleteSerializer, responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        data = _valid(s.AdminDeleteSerializer, request.data or {})
        services.subscription_delete(actor=request.user, subscription_id=pk, reason=data.get("reason", ""),
                                     request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _valid(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)

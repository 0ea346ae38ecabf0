"""API views of ``teams``: scoped querysets from selectors, one service call per write.

Another team's data (and another user's key) is 404. Admin routes: read-only admins read, admins write.
"""
from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import alert_preferences
from accounts.models import User
from litemaas.api.permissions import IsAdminOrReadOnlyAdmin, IsPortalAdmin
from litemaas.api.serializers import ErrorSerializer
from litemaas.exceptions import NotFoundError
from teams import selectors, services
from teams.api.serializers import (
    AdminUserOutputSerializer,
    AdminUserUpdateInputSerializer,
    BulkLimitsInputSerializer,
    MemberAddInputSerializer,
    MembershipOutputSerializer,
    MemberUpdateInputSerializer,
    NotificationPreferenceSerializer,
    TeamCreateInputSerializer,
    TeamOutputSerializer,
    TeamUpdateInputSerializer,
)
from teams.models import Membership, Team


def _my_roles(user: Any) -> dict[Any, str]:
    return dict(Membership.objects.filter(user=user).values_list("team_id", "role"))


def _team_out(team: Team, request: Request, *, http_status: int = status.HTTP_200_OK) -> Response:
    if not hasattr(team, "member_count"):  # rows from services lack the selector's annotation (schema: required)
        team.member_count = team.memberships.count()
    return Response(TeamOutputSerializer(team, context={"my_roles": _my_roles(request.user)}).data, status=http_status)


class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """``/teams``: my teams; create (portal admins: anything; other users: a team they own, name and
    description only, up to ``TEAM_MAX_OWNED_PER_USER``), change (managers: name; admins: limits), archive."""

    serializer_class = TeamOutputSerializer
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> Any:
        return selectors.team_list_for_user(user=self.request.user)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "my_roles": _my_roles(self.request.user)}

    def get_object(self) -> Team:
        return selectors.get_team_for_user(user=self.request.user, team_id=self.kwargs["pk"])

    # 403: admin-only fields (owner, limits, models) from a non-admin, or self-service creation disabled
    # (TEAM_MAX_OWNED_PER_USER=0); 404: owner_id names no user; 409: team_owner_limit or a duplicate name.
    @extend_schema(request=TeamCreateInputSerializer, responses={201: TeamOutputSerializer, 403: ErrorSerializer,
                                                                 404: ErrorSerializer, 409: ErrorSerializer})
    def create(self, request: Request) -> Response:
        data = TeamCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        owner_id = values.pop("owner_id", None)
        owner = User.objects.filter(pk=owner_id, is_active=True).first() if owner_id else None
        if owner_id and owner is None:
            raise NotFoundError("No such active user.")
        team = services.team_create(actor=request.user, owner=owner, request=request, **values)
        return _team_out(team, request, http_status=status.HTTP_201_CREATED)

    @extend_schema(request=TeamUpdateInputSerializer, responses=TeamOutputSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        team = self.get_object()
        data = TeamUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        team = services.team_update(team=team, actor=request.user, request=request, **data.validated_data)
        return _team_out(team, request)

    @extend_schema(request=None, responses={200: TeamOutputSerializer})  # the archived team (not a 204)
    def destroy(self, request: Request, pk: str) -> Response:
        """Archive (teams are never deleted: their spend history stays)."""
        team = services.team_archive(team=self.get_object(), actor=request.user, request=request)
        return _team_out(team, request)


_TEAM_ID = OpenApiParameter("team_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
_USER_ID = OpenApiParameter("user_id", OpenApiTypes.UUID, OpenApiParameter.PATH)


@extend_schema_view(list=extend_schema(parameters=[_TEAM_ID]), create=extend_schema(parameters=[_TEAM_ID]),
                    partial_update=extend_schema(parameters=[_TEAM_ID, _USER_ID]),
                    destroy=extend_schema(parameters=[_TEAM_ID, _USER_ID], responses={204: None}))
class TeamMemberViewSet(viewsets.GenericViewSet):
    """``/teams/{team_id}/members``: list (members), add/change/remove (owners, admins, portal admins)."""

    lookup_field = "user_id"
    lookup_value_regex = "[^/]+"
    serializer_class = MembershipOutputSerializer
    pagination_class = None

    def get_queryset(self) -> Any:
        return Membership.objects.none()

    def _team(self) -> Team:
        return selectors.get_team_for_user(user=self.request.user, team_id=self.kwargs["team_id"])

    @extend_schema(responses=MembershipOutputSerializer(many=True))
    def list(self, request: Request, team_id: str) -> Response:
        members = selectors.membership_list(team=self._team())
        return Response(MembershipOutputSerializer(members, many=True).data)

    @extend_schema(request=MemberAddInputSerializer, responses=MembershipOutputSerializer)
    def create(self, request: Request, team_id: str) -> Response:
        team = self._team()
        data = MemberAddInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        lookup = {"pk": v["user_id"]} if v.get("user_id") else {"username": v["username"]}
        user = User.objects.filter(**lookup).first()
        if user is None:
            raise NotFoundError("No such user.")
        membership = services.team_member_add(team=team, user=user, actor=request.user, role=v["role"],
                                              max_budget=v.get("max_budget"), request=request)
        return Response(MembershipOutputSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MemberUpdateInputSerializer, responses=MembershipOutputSerializer)
    def partial_update(self, request: Request, team_id: str, user_id: str) -> Response:
        team = self._team()
        membership = selectors.get_membership_for_user(user=request.user, team=team, member_user_id=user_id)
        data = MemberUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.team_member_update(membership=membership, actor=request.user, request=request,
                                                 **data.validated_data)
        return Response(MembershipOutputSerializer(membership).data)

    def destroy(self, request: Request, team_id: str, user_id: str) -> Response:
        team = self._team()
        membership = selectors.get_membership_for_user(user=request.user, team=team, member_user_id=user_id)
        services.team_member_remove(membership=membership, actor=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AdminTeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """``/admin/teams``: every team with live spend and runway (read-only admins read; admins reset)."""

    permission_classes = [IsAdminOrReadOnlyAdmin]
    serializer_class = TeamOutputSerializer
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> Any:
        return selectors.team_list_for_admin(actor=self.request.user, search=self.request.query_params.get("q", ""),
                                             status=self.request.query_params.get("status", ""))

    def get_object(self) -> Team:
        return selectors.get_team_for_user(user=self.request.user, team_id=self.kwargs["pk"])

    def retrieve(self, request: Request, pk: str) -> Response:
        team = self.get_object()
        spend = selectors.live_spend(kind="team", object_id=team.pk)
        body = TeamOutputSerializer(team, context={"my_roles": {}}).data
        body["live_spend"] = None if spend.spend is None else str(spend.spend)
        body["runway"] = selectors.runway_as_dict(selectors.runway_for(
            kind="team", object_id=team.pk, spend=spend.spend, max_budget=team.max_budget, reset_at=spend.reset_at))
        body["members"] = MembershipOutputSerializer(selectors.membership_list(team=team), many=True).data
        body["keys"] = [{"id": str(k.pk), "name": k.name, "user_id": str(k.user_id), "status": k.status,
                         "max_budget": None if k.max_budget is None else str(k.max_budget),
                         "spend": None if k.spend is None else str(k.spend)}
                        for k in selectors.team_keys(team=team)[:200]]
        return Response(body)

    # 409 team_spend_reset_unsupported: LiteLLM 1.103.7 cannot reset a team's spend (nothing changed).
    @extend_schema(request=None, responses={200: TeamOutputSerializer, 409: ErrorSerializer})
    @action(detail=True, methods=["post"], url_path="reset-spend", permission_classes=[IsPortalAdmin])
    def reset_spend(self, request: Request, pk: str) -> Response:
        team = services.team_reset_spend(team=self.get_object(), actor=request.user, request=request)
        return _team_out(team, request)


class AdminUserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """``/admin/users``: list (search, role, status), detail with budget, PATCH role/active/limits."""

    permission_classes = [IsAdminOrReadOnlyAdmin]
    serializer_class = AdminUserOutputSerializer
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"

    def get_queryset(self) -> Any:
        p = self.request.query_params
        return selectors.user_list_for_admin(actor=self.request.user, search=p.get("q", ""), role=p.get("role", ""),
                                             status=p.get("status", ""))

    def get_object(self) -> User:
        return selectors.user_get_for_admin(actor=self.request.user, user_id=self.kwargs["pk"])

    def retrieve(self, request: Request, pk: str) -> Response:
        user = self.get_object()
        body = AdminUserOutputSerializer(user).data
        spend = selectors.live_spend(kind="user", object_id=user.pk)
        body["live_spend"] = None if spend.spend is None else str(spend.spend)
        body["budget_reset_at"] = spend.reset_at
        body["runway"] = selectors.runway_as_dict(selectors.runway_for(
            kind="user", object_id=user.pk, spend=spend.spend, max_budget=user.max_budget, reset_at=spend.reset_at))
        body["teams"] = [{"id": str(m.team_id), "name": m.team.name, "role": m.role}
                         for m in Membership.objects.filter(user=user).select_related("team")]
        return Response(body)

    @extend_schema(request=AdminUserUpdateInputSerializer, responses=AdminUserOutputSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        user = self.get_object()
        data = AdminUserUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.admin_user_update(user=user, actor=request.user, values=dict(data.validated_data),
                                         request=request)
        return Response(AdminUserOutputSerializer(user).data)

    @extend_schema(request=None, responses=None)
    @action(detail=True, methods=["post"], url_path="reset-spend", permission_classes=[IsPortalAdmin])
    def reset_spend(self, request: Request, pk: str) -> Response:
        services.user_reset_spend(user=self.get_object(), actor=request.user, request=request)
        return Response({"status": "reset"})

    @extend_schema(request=BulkLimitsInputSerializer, responses=None)
    @action(detail=False, methods=["post"], url_path="bulk-limits", permission_classes=[IsPortalAdmin])
    def bulk_limits(self, request: Request) -> Response:
        data = BulkLimitsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.users_bulk_limits(actor=request.user, values=dict(data.validated_data), request=request)
        return Response({"total": result.total, "updated": result.updated, "unchanged": result.unchanged,
                         "failed": result.failed, "litellm_sync": result.sync, "results": result.results})


class EffectiveLimitsView(APIView):
    """``GET /api-keys/{id}/effective-limits``: the key's limits at each level and the tightest."""

    @extend_schema(parameters=[OpenApiParameter("key_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
                   responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, key_id: str) -> Response:
        key = selectors.apikey_get_for_effective_limits(user=request.user, key_id=key_id)
        limits = selectors.effective_limits_for_key(key=key)
        runway = selectors.runway_for(kind="key", object_id=key.pk, spend=key.spend, max_budget=key.max_budget,
                                      reset_at=None)
        return Response(selectors.effective_limits_as_dict(limits, runway=runway))


class NotificationPreferenceView(APIView):
    """``GET``/``PUT /notification-preferences``: the caller's alert thresholds and channels."""

    @extend_schema(responses=NotificationPreferenceSerializer)
    def get(self, request: Request) -> Response:
        row = alert_preferences.notification_preference_get(user=request.user)
        return Response(NotificationPreferenceSerializer(row).data)

    @extend_schema(request=NotificationPreferenceSerializer, responses=NotificationPreferenceSerializer)
    def put(self, request: Request) -> Response:
        data = NotificationPreferenceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = alert_preferences.notification_preference_update(user=request.user, values=dict(data.validated_data),
                                                               request=request)
        return Response(NotificationPreferenceSerializer(row).data)

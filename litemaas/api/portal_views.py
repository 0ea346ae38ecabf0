"""REST endpoints of portal-wide features: banners (public and admin), branding, portal settings.

Thin views: selectors read, ``litemaas.portal_services`` writes and raises ``ApplicationError``s that the
project exception handler renders. Read-only admins may read every admin endpoint and write none.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from litemaas import portal_selectors as sel
from litemaas import portal_services as svc
from litemaas.api.permissions import IsAdminOrReadOnlyAdmin, TokenScopePermission
from litemaas.api.serializers import InputModelSerializer, InputSerializer, json_type_error
from litemaas.branding import BRANDING_IMAGE_MAX_BYTES
from litemaas.currency import CURRENCIES
from litemaas.exceptions import NotFoundError, ValidationFailed
from litemaas.markdown import render_markdown_inline
from litemaas.models import Announcement, AnnouncementHistory, BrandingImage
from litemaas.models.announcements import AnnouncementStyle

# --------------------------------------------------------------------------------------------- banners
# Security requirements of a public operation that also accepts a token or a session (the empty alternative
# tells clients and schemathesis that no credentials are needed).
PUBLIC_AUTH = [{"personalAccessToken": []}, {"cookieAuth": []}, {}]


class ActiveBannerSerializer(serializers.Serializer):
    """A banner as users see it: the text in their language (Markdown source and sanitised HTML)."""

    id = serializers.IntegerField()
    style = serializers.ChoiceField(choices=AnnouncementStyle.choices)
    dismissible = serializers.BooleanField()
    text = serializers.CharField(help_text="Markdown in the caller's language (English when missing).")
    html = serializers.CharField(help_text="The text rendered to sanitised inline HTML.")
    link_url = serializers.CharField(allow_blank=True)
    link_text = serializers.CharField(allow_blank=True)


class ActiveBannerListView(APIView):
    """``GET /api/v1/banners``: the banners the caller should see now (anonymous callers: untargeted ones)."""

    permission_classes = [AllowAny]

    @extend_schema(summary="Active banners for the caller", responses=ActiveBannerSerializer(many=True))
    def get(self, request: Request) -> Response:
        language = (get_language() or "en").split("-")[0]
        rows = []
        for b in sel.announcement_list_active_for_user(user=request.user):
            text = b["content"].get(language) or b["content"].get("en", "")
            rows.append({"id": b["id"], "style": b["style"], "dismissible": b["dismissible"], "text": text,
                         "html": str(render_markdown_inline(text)), "link_url": b["link_url"],
                         "link_text": b["link_text"]})
        return Response(ActiveBannerSerializer(rows, many=True).data)


class BannerDismissView(APIView):
    """``POST /api/v1/banners/{id}/dismiss``: hide a dismissible banner for the caller (idempotent)."""

    permission_classes = [IsAuthenticated, TokenScopePermission]

    @extend_schema(summary="Dismiss a banner", request=None,
                   responses={204: OpenApiResponse(description="Dismissed"), 400: OpenApiResponse(
                       description="Not dismissible"), 404: OpenApiResponse(description="No such visible banner")})
    def post(self, request: Request, banner_id: int) -> Response:
        svc.announcement_dismiss(user=request.user, announcement_id=banner_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _UserIdListField(serializers.ListField):
    """User ids in, user ids out (reads the many-to-many manager)."""

    child = serializers.UUIDField()

    def to_representation(self, data: Any) -> list[str]:
        if hasattr(data, "all"):
            return [str(u.pk) for u in data.all()]
        return super().to_representation(data)


class BannerSerializer(InputModelSerializer):
    """A banner as admins see and edit it. ``content`` maps language codes to Markdown (``en`` required)."""

    content = serializers.DictField(child=serializers.CharField(allow_blank=True))
    # Plain strings (the service validates them): a second enum over Role's choices would collide in the schema.
    target_roles = serializers.ListField(child=serializers.CharField(), required=False,
                                         help_text="Roles that see it: " + ", ".join(Role.values) + ".")
    target_users = _UserIdListField(required=False,
                                    help_text="Ids of the users who see it (with target_roles: either).")

    class Meta:
        model = Announcement
        fields = ["id", "name", "content", "style", "is_active", "dismissible", "priority", "starts_at", "ends_at",
                  "target_roles", "target_users", "link_url", "link_text", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"name": {"required": True}}



class BannerHistorySerializer(serializers.ModelSerializer):
    """One change of a banner."""

    banner = serializers.IntegerField(source="announcement_ref")
    changed_by = serializers.CharField(source="changed_by_label")

    class Meta:
        model = AnnouncementHistory
        fields = ["id", "banner", "action", "changed_by", "changed_at", "previous_state", "new_state"]


class AdminBannerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                         mixins.UpdateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """``/api/v1/admin/banners``: admins manage banners; read-only admins may only read."""

    serializer_class = BannerSerializer
    permission_classes = [IsAdminOrReadOnlyAdmin, TokenScopePermission]
    queryset = Announcement.objects.none()
    lookup_value_regex = r"\d+"  # a non-numeric id is a 404 (it was a 500 on /history: int("abc"))

    def get_queryset(self) -> QuerySet[Announcement]:
        return sel.announcement_list(user=self.request.user)

    def _data(self, serializer: serializers.Serializer) -> dict[str, Any]:
        data = dict(serializer.validated_data)
        if "target_users" in data:
            data["target_users"] = [str(pk) for pk in data["target_users"]]
        return data

    def perform_create(self, serializer: serializers.Serializer) -> None:
        serializer.instance = svc.announcement_create(actor=self.request.user, data=self._data(serializer),
                                                      request=self.request)

    def perform_update(self, serializer: serializers.Serializer) -> None:
        serializer.instance = svc.announcement_update(actor=self.request.user, announcement=serializer.instance,
                                                      data=self._data(serializer), request=self.request)

    def perform_destroy(self, instance: Announcement) -> None:
        svc.announcement_delete(actor=self.request.user, announcement=instance, request=self.request)

    @extend_schema(summary="Change history of one banner", responses=BannerHistorySerializer(many=True))
    @action(detail=True, methods=["get"], serializer_class=BannerHistorySerializer)
    def history(self, request: Request, pk: str | None = None) -> Response:
        rows = sel.announcement_history_list(user=request.user, announcement_id=int(pk or 0))
        page = self.paginate_queryset(rows)
        data = BannerHistorySerializer(page if page is not None else rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)


# --------------------------------------------------------------------------------------------- branding
class CanChangeBrandingOrRead(BasePermission):
    """Anyone may read the branding; writing needs ``litemaas.change_branding`` (admins have it by role)."""

    message = _("Changing the branding needs the branding permission.")

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return sel.branding_can_change(request.user)


class BrandingSerializer(InputSerializer):
    """Login texts, logo switches and which images exist (with their cache-busting versions)."""

    login_logo_enabled = serializers.BooleanField(required=False)
    login_title_enabled = serializers.BooleanField(required=False)
    login_title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    login_subtitle_enabled = serializers.BooleanField(required=False)
    login_subtitle = serializers.CharField(required=False, allow_blank=True, max_length=500)
    header_logo_enabled = serializers.BooleanField(required=False)
    images = serializers.DictField(child=serializers.CharField(), read_only=True)
    updated_at = serializers.CharField(read_only=True, allow_null=True)


class BrandingView(APIView):
    """``GET /api/v1/branding`` (public) and ``PATCH`` (branding permission)."""

    permission_classes = [CanChangeBrandingOrRead, TokenScopePermission]

    @extend_schema(summary="Branding (public)", responses=BrandingSerializer, auth=PUBLIC_AUTH)
    def get(self, request: Request) -> Response:
        return Response(BrandingSerializer(sel.branding_get()).data)

    @extend_schema(summary="Change the login texts and logo switches", request=BrandingSerializer,
                   responses=BrandingSerializer)
    def patch(self, request: Request) -> Response:
        serializer = BrandingSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        svc.branding_update(actor=request.user, request=request._request, **serializer.validated_data)
        return Response(BrandingSerializer(sel.branding_get()).data)


class BrandingImageUploadSerializer(InputSerializer):
    """The JSON form of an image upload (documentation; ``BrandingImageView.put`` reads the body itself)."""

    data = serializers.CharField(help_text="Base64 of a PNG, JPEG or WebP image (≤512 KB).")


class BrandingImageView(APIView):
    """``/api/v1/branding/images/{kind}``: GET the bytes (public), PUT an upload, DELETE it.

    PUT accepts multipart (``file``) or JSON ``{"data": "<base64>"}``; PNG, JPEG or WebP up to 512 KB.
    """

    permission_classes = [CanChangeBrandingOrRead, TokenScopePermission]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(summary="A branding image (public)", responses={(200, "image/png"): bytes}, auth=PUBLIC_AUTH)
    def get(self, request: Request, kind: str) -> HttpResponse:
        from litemaas.portal_views import branding_image

        return branding_image(request._request, kind)

    @extend_schema(summary="Upload a branding image", request=BrandingImageUploadSerializer,
                   responses=BrandingSerializer)
    def put(self, request: Request, kind: str) -> Response:
        upload = request.FILES.get("file")
        if upload is not None:
            raw = upload.read(BRANDING_IMAGE_MAX_BYTES + 1)
        else:
            try:
                # A JSON body that is not an object (``[null]``) has no "data": same answer as bad base64.
                data = request.data.get("data", "") if hasattr(request.data, "get") else ""
                if not isinstance(data, str):  # JSON types are strict (litemaas.api.serializers)
                    error = json_type_error(serializers.CharField(), data) or _("This field may not be null.")
                    raise ValidationFailed(_("Send the image as base64 in \"data\" or as a multipart \"file\"."),
                                           details={"fields": {"data": [error]}})
                raw = base64.b64decode(data, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ValidationFailed(_("Send the image as base64 in \"data\" or as a multipart \"file\"."),
                                       details={"fields": {"data": [_("Not valid base64.")]}}) from exc
        svc.branding_image_set(actor=request.user, kind=kind, raw=raw, request=request._request)
        return Response(BrandingSerializer(sel.branding_get()).data)

    @extend_schema(summary="Remove a branding image", responses={204: None})
    def delete(self, request: Request, kind: str) -> Response:
        if kind not in BrandingImage.Kind.values:
            raise NotFoundError()
        svc.branding_image_delete(actor=request.user, kind=kind, request=request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --------------------------------------------------------------------------------------------- settings
class PortalSettingsSerializer(InputSerializer):
    """Display currency and new-user defaults (null/empty = the server default in ``defaults``)."""

    currency_code = serializers.CharField(required=False, allow_blank=True)
    new_user_max_budget = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, allow_null=True)
    new_user_tpm_limit = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    new_user_rpm_limit = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    new_user_budget_duration = serializers.CharField(required=False, allow_blank=True)


class PortalSettingsOutSerializer(PortalSettingsSerializer):
    """What GET and PATCH answer: the stored values, the current currency and the defaults in force
    (documentation only; the schema said ``{"settings": {...}}``, which the views never sent)."""

    currency = serializers.DictField()
    effective_new_user_defaults = serializers.DictField(child=serializers.CharField(allow_null=True))
    server_defaults = serializers.DictField(child=serializers.CharField(allow_null=True))


def _settings_payload() -> dict[str, Any]:
    row = sel.portal_settings_get()
    currency = sel.current_currency()
    return {
        "currency_code": row.currency_code, "new_user_max_budget": row.new_user_max_budget,
        "new_user_tpm_limit": row.new_user_tpm_limit, "new_user_rpm_limit": row.new_user_rpm_limit,
        "new_user_budget_duration": row.new_user_budget_duration,
        "currency": {"code": currency.code, "symbol": currency.symbol, "name": str(currency.name)},
        "effective_new_user_defaults": {k: (str(v) if v is not None else None)
                                        for k, v in sel.new_user_defaults().items()},
        "server_defaults": {"currency_code": getattr(settings, "PORTAL_CURRENCY_CODE", "USD"),
                            **{k: (str(v) if v is not None else None) for k, v in sel.env_user_defaults().items()}},
    }


class AdminSettingsView(APIView):
    """``/api/v1/admin/settings``: GET for admins and read-only admins, PATCH for admins (audited)."""

    permission_classes = [IsAdminOrReadOnlyAdmin, TokenScopePermission]

    @extend_schema(summary="Portal settings", responses=PortalSettingsOutSerializer)
    def get(self, request: Request) -> Response:
        return Response(PortalSettingsOutSerializer(_settings_payload()).data)

    @extend_schema(summary="Change portal settings", request=PortalSettingsSerializer,
                   responses=PortalSettingsOutSerializer)
    def patch(self, request: Request) -> Response:
        serializer = PortalSettingsSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        svc.portal_settings_update(actor=request.user, request=request._request, **serializer.validated_data)
        return Response(PortalSettingsOutSerializer(_settings_payload()).data)


class CurrencyListView(APIView):
    """``GET /api/v1/currencies``: the currencies an admin may pick, and the current one (any signed-in user)."""

    @extend_schema(summary="Display currencies", responses=inline_serializer("CurrencyList", {
        "current": serializers.DictField(), "supported": serializers.ListField(child=serializers.DictField())}))
    def get(self, request: Request) -> Response:
        current = sel.current_currency()
        return Response({
            "current": {"code": current.code, "symbol": current.symbol, "name": str(current.name)},
            "supported": [{"code": c.code, "symbol": c.symbol, "name": str(c.name)} for c in CURRENCIES.values()],
            "note": str(_("Amounts are not converted: LiteLLM prices and spend are in US dollars.")),
        })



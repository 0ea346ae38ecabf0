"""Project-wide models of the ``litemaas`` app: the audit trail and portal-wide settings and content."""
from litemaas.models.announcements import Announcement, AnnouncementDismissal, AnnouncementHistory
from litemaas.models.audit import AuditEvent
from litemaas.models.portal import BrandingImage, BrandingSettings, OnboardingState, PortalSettings

__all__ = [
    "Announcement",
    "AnnouncementDismissal",
    "AnnouncementHistory",
    "AuditEvent",
    "BrandingImage",
    "BrandingSettings",
    "OnboardingState",
    "PortalSettings",
]

"""Validation of uploaded branding images (defect #16: an uploaded logo must never be able to carry script).

Only raster images are accepted: PNG, JPEG and WebP, at most ``BRANDING_IMAGE_MAX_BYTES`` and
``BRANDING_IMAGE_MAX_PIXELS`` per side. Each upload is decoded with Pillow and *re-encoded*, so whatever
the file carried besides pixels (metadata, trailing HTML, polyglot payloads) is dropped. SVG is refused
outright: it is XML that can hold ``<script>``, event handlers and external references, and a logo does
not need it. The bytes are served by ``litemaas.portal_views.branding_image`` with a locked-down CSP.
"""
from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from litemaas.exceptions import ValidationFailed

BRANDING_IMAGE_MAX_BYTES = 512 * 1024
BRANDING_IMAGE_MAX_PIXELS = 2048
# Pillow format name -> the content type we serve it with.
ACCEPTED_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


@dataclass(frozen=True)
class CleanImage:
    """A re-encoded image ready to store."""

    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str


def _reject(message: str, field: str = "image") -> ValidationFailed:
    return ValidationFailed(message, details={"fields": {field: [message]}})


def branding_image_clean(raw: bytes, *, field: str = "image") -> CleanImage:
    """Check and re-encode an uploaded logo; raise ``ValidationFailed`` for anything not a small raster image."""
    if not raw:
        raise _reject(_("Choose an image file."), field)
    if len(raw) > BRANDING_IMAGE_MAX_BYTES:
        raise _reject(_("The image is larger than %(size)d KB.") % {"size": BRANDING_IMAGE_MAX_BYTES // 1024},
                      field)
    head = raw[:512].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg", b"<!doctype")) or b"<svg" in head:
        raise _reject(_("SVG images are not accepted because they can contain scripts. "
                        "Upload a PNG, JPEG or WebP image."), field)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw))
            fmt = image.format or ""
            if fmt not in ACCEPTED_FORMATS:
                raise _reject(_("Upload a PNG, JPEG or WebP image."), field)
            if max(image.size) > BRANDING_IMAGE_MAX_PIXELS:
                raise _reject(_("The image is larger than %(px)d × %(px)d pixels.")
                              % {"px": BRANDING_IMAGE_MAX_PIXELS}, field)
            image.load()
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombWarning,
            Image.DecompressionBombError) as exc:
        raise _reject(_("The file is not a readable PNG, JPEG or WebP image."), field) from exc

    out = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(out, format="JPEG", quality=90, optimize=True)
    elif fmt == "WEBP":
        image.save(out, format="WEBP", quality=90)
    else:
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            image = image.convert("RGBA")
        image.save(out, format="PNG", optimize=True)
    data = out.getvalue()
    return CleanImage(data=data, content_type=ACCEPTED_FORMATS[fmt], width=image.width, height=image.height,
                      sha256=hashlib.sha256(data).hexdigest())

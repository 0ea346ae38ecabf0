"""Safe Markdown for admin-written text (banners) and the in-portal help pages.

Two layers: Python-Markdown runs with its raw-HTML handlers removed, so ``<script>`` in the source comes
out as visible, escaped text; then nh3 (the Rust ``ammonia`` sanitiser) keeps only an allow-list of tags,
attributes and URL schemes, so even a Markdown feature we did not think of cannot produce active content.
"""
from __future__ import annotations

import re

import markdown as md
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h1", "h2", "h3", "h4", "table", "thead", "tbody", "tr", "th", "td",
}
INLINE_TAGS = {"strong", "em", "code", "a", "br"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "h1": {"id"}, "h2": {"id"}, "h3": {"id"}, "h4": {"id"},
                      "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}


class _NoRawHtml(md.extensions.Extension):
    """Drop Python-Markdown's raw-HTML block and inline handlers (raw HTML is then escaped as text)."""

    def extendMarkdown(self, md_instance: md.Markdown) -> None:  # noqa: N802 - Markdown API name
        md_instance.preprocessors.deregister("html_block")
        md_instance.inlinePatterns.deregister("html")


def _converter(*, toc: bool) -> md.Markdown:
    extensions: list = [_NoRawHtml(), "tables", "sane_lists", "fenced_code"]
    if toc:
        extensions.append("toc")
    return md.Markdown(extensions=extensions, output_format="html")


def _clean(html: str, tags: set[str]) -> str:
    return nh3.clean(html, tags=tags, attributes={k: v for k, v in ALLOWED_ATTRIBUTES.items() if k in tags},
                     url_schemes=URL_SCHEMES, link_rel="noopener noreferrer", strip_comments=True)


def render_markdown(text: str, *, toc: bool = False) -> SafeString:
    """Render ``text`` (Markdown) to sanitised HTML. Never raises on odd input; never emits script."""
    html = _converter(toc=toc).convert(text or "")
    return mark_safe(_clean(html, ALLOWED_TAGS))  # noqa: S308 - sanitised by nh3 just above


_WRAPPING_P = re.compile(r"^<p>(.*)</p>$", re.DOTALL)


def render_markdown_inline(text: str) -> SafeString:
    """Render one short text (a banner) to inline HTML: emphasis, code and links; blocks become line breaks."""
    html = _converter(toc=False).convert(text or "").strip()
    html = _WRAPPING_P.sub(r"\1", html).replace("</p>\n<p>", "<br>")
    return mark_safe(_clean(html, INLINE_TAGS))  # noqa: S308 - sanitised by nh3 just above

"""The safe Markdown renderer never lets script or raw HTML through."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest

from litemaas.markdown import ALLOWED_TAGS, render_markdown, render_markdown_inline


@pytest.mark.parametrize("source", [
    "<script>alert(1)</script>",
    "hello <img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<iframe src=https://evil.example></iframe>",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<svg onload=alert(1)>",
    "```\n</code><script>alert(1)</script>\n```",
])
@pytest.mark.parametrize("render", [render_markdown, render_markdown_inline])
def test_no_script_or_raw_html_survives(source, render):
    parser = _TagCollector()
    parser.feed(str(render(source)))
    assert parser.tags <= ALLOWED_TAGS
    assert not {"script", "img", "iframe", "svg"} & parser.tags
    for name, value in parser.attributes:
        assert not name.startswith("on")
        if name == "href":
            assert value.split(":", 1)[0] in ("http", "https", "mailto") or ":" not in value


class _TagCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.extend((k, v or "") for k, v in attrs)


def test_raw_html_is_shown_as_text_not_dropped():
    assert "&lt;script&gt;" in str(render_markdown("<script>alert(1)</script>"))


def test_markdown_features_render():
    html = str(render_markdown("**bold** *it* `code` [doc](https://example.com/a)\n\n- one\n- two"))
    assert "<strong>bold</strong>" in html and "<em>it</em>" in html and "<code>code</code>" in html
    assert '<a href="https://example.com/a" rel="noopener noreferrer">doc</a>' in html
    assert "<li>one</li>" in html


def test_inline_rendering_has_no_block_wrappers():
    html = str(render_markdown_inline("Maintenance **tonight**.\n\nSee [status](https://status.example)."))
    assert not html.startswith("<p>")
    assert "<strong>tonight</strong>" in html and "<br>" in html

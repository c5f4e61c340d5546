"""Markdown to one self-contained HTML page (markdown-it-py; PNG images embedded)."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from markdown_it import MarkdownIt

__all__ = ["markdown_page"]

_STYLE = (
    "body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
    "table{border-collapse:collapse;margin:1em 0;font-size:90%}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "td:first-child,th:first-child{text-align:left}img{max-width:100%}"
)


def markdown_page(title: str, markdown: str, folder: Path) -> str:
    """Render ``markdown`` (CommonMark with tables) as a page; images in ``folder`` are inlined."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    default_image = cast(Any, md.renderer).rules["image"]

    def image(renderer: Any, tokens: Sequence[Any], idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        src = str(token.attrGet("src") or "")
        path = folder / src
        if src and "/" not in src and path.suffix == ".png" and path.is_file():
            token.attrSet("src", "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode())
        return str(default_image(tokens, idx, options, env))

    md.add_render_rule("image", image)
    body = md.render(markdown)
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>\n{body}</body></html>\n"
    )

"""Report rendering: text, JSON and self-contained HTML from the report model."""

from .render import group_findings, render_html, render_json, render_text

__all__ = ["group_findings", "render_html", "render_json", "render_text"]

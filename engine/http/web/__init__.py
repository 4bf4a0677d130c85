"""The web office (FastAPI + Jinja2, server-rendered, in Vietnamese): one module per area.

``app`` assembles the routers; ``session`` gives the signed-in person (``CurrentUser``), the
cookie and CSRF; ``pages`` renders templates (``render``, ``flash``, ``redirect``);
``auth`` logs in and out; then the areas (``inbox``, …). The web holds no business rule: every
page calls engine functions, which check permissions and audit (channel ``web``).
"""

from engine.http.web.app import create_web_app

__all__ = ["create_web_app"]

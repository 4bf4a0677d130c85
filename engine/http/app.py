"""One process serves the web office and the signing agents' API (``vanthu serve``).

``POST /exchange/edxml`` goes to the exchange between agencies (:mod:`engine.http.exchange`).

Requests under ``/api/`` go to the API (:mod:`engine.http.api`, JSON errors, bearer tokens,
audit channel ``api``), all others to the web office (:mod:`engine.http.web`, HTML pages,
session cookies, audit channel ``web``). Each keeps its own middleware and error handling.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import State
from starlette.types import Receive, Scope, Send

from engine.automation.registry import open_workspace
from engine.core.config import load_settings
from engine.core.workspace import Workspace
from engine.http.api import create_app as create_api
from engine.http.exchange import create_exchange_app
from engine.http.web import create_web_app

API_PREFIX = "/api"
EXCHANGE_PATH = "/exchange/edxml"


class VanthuApp:
    """The ASGI application: the API under ``/api/``, the web office everywhere else."""

    def __init__(self, web: FastAPI, api: FastAPI, exchange: FastAPI | None = None) -> None:
        self.web, self.api, self.exchange = web, api, exchange

    @property
    def state(self) -> State:
        return self.web.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "lifespan" and (
            path == API_PREFIX or path.startswith(API_PREFIX + "/")
        ):
            await self.api(scope, receive, send)
        elif self.exchange is not None and scope["type"] != "lifespan" and path == EXCHANGE_PATH:
            await self.exchange(scope, receive, send)
        else:
            await self.web(scope, receive, send)


def create_app(ws: Workspace) -> VanthuApp:
    """The web office and the agent API over one open workspace."""
    return VanthuApp(create_web_app(ws), create_api(ws), create_exchange_app(ws))


def app_from_environment() -> VanthuApp:
    """The app of the agency ``VANTHU_HOME`` names: what each process of ``vanthu serve
    --workers N`` serves (uvicorn imports it by name in every worker process)."""
    return create_app(open_workspace(load_settings(), migrate=False))

"""The HTTP face: the web office and the API signing agents talk to, served together by
``vanthu serve`` (:func:`create_app`); the agent itself (:mod:`engine.http.agent`)."""

from engine.http.api import create_app as create_api
from engine.http.app import VanthuApp, create_app

__all__ = ["VanthuApp", "create_api", "create_app"]

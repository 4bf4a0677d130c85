"""The HTTP face: the API signing agents talk to (``vanthu serve``), and its client, the agent."""

from engine.http.api import create_app

__all__ = ["create_app"]

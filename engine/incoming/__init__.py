"""Incoming documents (văn bản đến): received, their signatures verified, registered (số đến)."""

from engine.incoming.receiving import IncomingRequest, receive_incoming

__all__ = ["IncomingRequest", "receive_incoming"]

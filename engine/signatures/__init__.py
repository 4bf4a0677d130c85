"""The engine's side of signing: the agency's keys, trust roots and signing policy, its DEMO
keys, the certificates it issued, and verification reports of any PDF."""

from engine.signatures import keys
from engine.signatures.demo import create_demo_keys, setup_demo_agency

__all__ = ["create_demo_keys", "keys", "setup_demo_agency"]

"""Fixtures: pki."""

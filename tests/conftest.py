"""Shared fixtures live in tests/fixtures_*.py, one module per real part."""

pytest_plugins = ["fixtures_db", "fixtures_s3", "fixtures_pki", "fixtures_pkcs11"]

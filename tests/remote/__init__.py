"""Shared-store tests: PostgreSQL catalog + S3 data (real services from ``tests/services.py``)."""

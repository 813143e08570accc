"""Helpers shared by test suites (not tests themselves). `tests/api/conftest.py` puts `tests/` on
`sys.path`, so test modules import them as `support.<module>`."""

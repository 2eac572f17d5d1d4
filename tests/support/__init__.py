"""Helpers shared by test suites (real servers started by the test run)."""

"""Helpers shared by test packages (plain modules, not fixtures)."""

"""The fault matrix's folder: registers the counts plugin (tests/faults/summary.py) unless
``tests/conftest.py`` already did (it must, for the counts to show under pytest-xdist)."""

from __future__ import annotations

import pytest

from tests.faults import summary


def pytest_configure(config: pytest.Config) -> None:
    manager = config.pluginmanager
    if not manager.is_registered(summary) and not manager.has_plugin(summary.__name__):
        manager.register(summary, summary.__name__)

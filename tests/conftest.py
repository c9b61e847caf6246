"""Shared fixtures."""
from __future__ import annotations

import pytest

from tests.specs import small_hek_spec


@pytest.fixture
def hek_spec():
    return small_hek_spec()

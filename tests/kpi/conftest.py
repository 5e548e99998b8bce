import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _empty_kpi_cache():
    """KPI months are cached (locmem in tests): every test starts from an empty cache."""
    cache.clear()
    yield
    cache.clear()

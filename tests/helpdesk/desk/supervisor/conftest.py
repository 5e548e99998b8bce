import pytest


@pytest.fixture(autouse=True)
def board_cache_off(settings):
    """The board's shared cache is keyed by the highest record ids, which a rolled-back test
    may hand out again on SQLite: tests see fresh figures unless they turn it on."""
    settings.DESK_SUPERVISOR_CACHE_SECONDS = 0

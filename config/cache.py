"""The cache fails open: when Redis is unreachable, each process falls back to its own memory
instead of answering 500.

What the cache holds here can be lost or split per process for a while without harm: KPI
months (recomputed from the database), throttle and rate-limit counters (per process for the
outage: limits still hold, a little looser), the IMAP poll lock (the poll itself needs the
Redis broker, so it is not running meanwhile). Timeouts are short so a stopped server costs a
request half a second once, then the fallback is used without trying Redis again for a few
seconds; the first success switches back. Each switch is logged once.
"""

import logging
import time
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5.0
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


class FailOpenRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        options.setdefault("socket_connect_timeout", 0.5)
        options.setdefault("socket_timeout", 0.5)
        super().__init__(server, {**params, "OPTIONS": options})
        self._fallback = LocMemCache(f"fail-open:{server}", {"TIMEOUT": params.get("TIMEOUT", 300)})
        self._retry_at = 0.0

    @property
    def degraded(self) -> bool:
        return self._retry_at > 0.0

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self._retry_at and time.monotonic() < self._retry_at:
            return getattr(self._fallback, name)(*args, **kwargs)
        try:
            result = getattr(RedisCache, name)(self, *args, **kwargs)
        except _UNREACHABLE as exc:
            if not self._retry_at:
                logger.warning("cache: Redis unreachable (%s); using this process's memory", exc)
            self._retry_at = time.monotonic() + RETRY_AFTER_SECONDS
            return getattr(self._fallback, name)(*args, **kwargs)
        if self._retry_at:
            logger.warning("cache: Redis reachable again")
            self._retry_at = 0.0
        return result

    def add(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("add", *args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get", *args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("set", *args, **kwargs)

    def touch(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("touch", *args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("delete", *args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get_many", *args, **kwargs)

    def has_key(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("has_key", *args, **kwargs)

    def incr(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("incr", *args, **kwargs)

    def set_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("set_many", *args, **kwargs)

    def delete_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("delete_many", *args, **kwargs)

    def clear(self) -> Any:
        return self._call("clear")

"""pyHanko's synchronous API runs its own asyncio loop (asyncio.run). When the calling thread already runs a
loop (an async web server, a browser driver in tests), that fails; such calls then run in a worker thread."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import wraps
from typing import Callable, TypeVar

T = TypeVar("T")

_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="signing")


def outside_event_loop(fn: Callable[..., T]) -> Callable[..., T]:
    @wraps(fn)
    def wrapper(*args, **kwargs) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return fn(*args, **kwargs)
        return _pool.submit(fn, *args, **kwargs).result()

    return wrapper

"""Deleting what a test run or a benchmark left in Redis: every key under one prefix."""

from __future__ import annotations

import redis


def delete_prefix(url: str, prefix: str) -> int:
    """Delete every key starting with ``prefix:`` (SCAN, so a busy server is not blocked)."""
    client = redis.Redis.from_url(url, socket_timeout=10)
    try:
        n = 0
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                n += int(client.delete(*batch))
                batch.clear()
        if batch:
            n += int(client.delete(*batch))
        return n
    finally:
        client.close()

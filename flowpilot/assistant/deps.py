"""The assistant's provider as a typed request dependency (built once per process)."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from flowpilot.assistant.provider import Provider
from flowpilot.kernel.context import context_of


async def get_provider(request: Request) -> Provider:
    return cast(Provider, getattr(context_of(request), "provider"))  # noqa: B009


ProviderDep = Annotated[Provider, Depends(get_provider)]

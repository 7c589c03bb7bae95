"""Shared Pydantic pieces: strict input models and bounded text types."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints


class StrictInput(BaseModel):
    """Input bodies reject unknown fields and strip surrounding whitespace."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
OptionalShortText = Annotated[str, StringConstraints(max_length=200)] | None
Password = Annotated[str, StringConstraints(min_length=8, max_length=200)]

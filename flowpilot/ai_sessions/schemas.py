from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator

from flowpilot.kernel.schemas import LongText, OptionalShortText, Output, ShortText, StrictInput

EnvKey = Annotated[str, StringConstraints(min_length=1, max_length=100)]
EnvValue = Annotated[str, StringConstraints(max_length=1000)]


class SessionCreate(StrictInput):
    title: ShortText
    problem: LongText
    customer: OptionalShortText = None
    asset: OptionalShortText = None
    environment: dict[EnvKey, EnvValue] = Field(default_factory=dict, max_length=50)

    @field_validator("environment", mode="before")
    @classmethod
    def _values_are_text(cls, value: Any) -> Any:
        # Environment is key/value text; numbers and booleans are accepted as their text.
        if isinstance(value, dict):
            return {
                k: (str(v).lower() if isinstance(v, bool) else str(v))
                if isinstance(v, int | float | bool)
                else v
                for k, v in value.items()
            }
        return value


class SessionResolve(StrictInput):
    resolution: LongText


class StepCreate(StrictInput):
    kind: Literal["note", "action", "result"]
    content: LongText


class StepOut(Output):
    id: str
    session_id: str
    kind: str
    content: str
    actor_id: str | None
    actor_name: str | None = None
    created_at: datetime


class SessionOut(Output):
    id: str
    account_id: str
    title: str
    problem: str
    customer: str | None
    asset: str | None
    environment: dict[str, Any]
    status: str
    owner_id: str
    assignee_id: str
    resolution: str | None
    resolved_by_id: str | None
    resolved_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SessionDetail(SessionOut):
    steps: list[StepOut]


class SessionList(Output):
    items: list[SessionOut]

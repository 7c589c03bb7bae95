from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints

from flowpilot.kernel.schemas import Output, StrictInput


class UserOut(Output):
    id: str
    email: str
    name: str
    role: str
    account_id: str
    active: bool
    created_at: datetime
    notify_email: bool
    notify_min_urgency: str
    alert_desktop: bool
    alert_min_urgency: str
    alert_sound: bool


class LoginIn(StrictInput):
    email: Annotated[str, StringConstraints(min_length=3, max_length=320)]
    password: Annotated[
        str, StringConstraints(min_length=1, max_length=200, strip_whitespace=False)
    ]


class LoginOut(Output):
    token: str
    csrf_token: str
    expires_at: str
    user: UserOut

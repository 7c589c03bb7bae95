from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from flowpilot.accounts.schemas import UserOut
from flowpilot.schemas_common import Output, StrictInput


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

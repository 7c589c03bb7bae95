"""Shared Pydantic pieces: strict input models and bounded text types."""

from __future__ import annotations

from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints


class StrictInput(BaseModel):
    """Input bodies reject unknown fields and strip surrounding whitespace."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def check_email(value: str) -> str:
    """The normalised (lower-case) address, or ValueError saying what is wrong.

    No DNS look-up (validation must not depend on the network). ``*.test`` domains are
    accepted (demo and test accounts use them); other special-use names such as ``.local``
    or ``localhost`` are not, as notifications are emailed to these addresses.
    """
    try:
        normalized = validate_email(
            value.strip(), check_deliverability=False, test_environment=True
        ).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from None
    return normalized.lower()


ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
OptionalShortText = Annotated[str, StringConstraints(max_length=200)] | None
# Passwords are taken exactly as typed (login does not strip them either).
Password = Annotated[str, StringConstraints(min_length=8, max_length=200, strip_whitespace=False)]
Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(check_email)]

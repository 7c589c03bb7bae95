"""Shared Pydantic pieces: strict input models and bounded text types."""

from __future__ import annotations

import types
import typing
from datetime import UTC, datetime
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

# Paged lists: at most this many items per page, and no deeper than this offset.
PAGE_MAX = 200
MAX_OFFSET = 100_000
FORM = {"form": True}
NUL_MESSAGE = "must not contain a NUL character"
# Times a person can mean: not before 2000, not after 2100 (a unix 0 or -1 is a mistake).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


SURROGATE_MESSAGE = "must be valid Unicode text (it holds a lone surrogate)"


def has_nul(value: Any) -> bool:
    """True if ``value`` (text, or a list/dict of it, keys included) holds a NUL character,
    which PostgreSQL text cannot store."""
    return text_problem(value) == NUL_MESSAGE


def text_problem(value: Any) -> str | None:
    """Why text in ``value`` (or in a list/dict of it, keys included) cannot be stored: a NUL
    character (PostgreSQL text cannot hold one) or a lone surrogate (JSON's ``"\\ud800"``: not
    encodable as UTF-8). None when it can."""
    if isinstance(value, str):
        if "\x00" in value:
            return NUL_MESSAGE
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return SURROGATE_MESSAGE
        return None
    if isinstance(value, dict):
        items: list[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        return None
    for item in items:
        problem = text_problem(item)
        if problem:
            return problem
    return None


def _leaves(annotation: Any) -> set[Any]:
    """The plain types an annotation accepts (through Annotated, unions and Optional)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _leaves(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return set().union(*(_leaves(arg) for arg in typing.get_args(annotation)))
    return {origin or annotation}


class StrictInput(BaseModel):
    """Input bodies reject unknown fields and strip surrounding whitespace.

    Every field also refuses text with a NUL character or a lone surrogate, and numbers refuse
    booleans and strings (``true`` is not 1 second, ``"60"`` is a typo to report), as do times
    (a number there is not an ISO 8601 time). HTML forms only send text: pages validate with
    ``context=FORM`` and get the usual conversions.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _plain_values(cls, value: Any, info: ValidationInfo) -> Any:
        problem = text_problem(value)
        if problem:
            raise ValueError(problem)
        field = cls.model_fields.get(info.field_name or "")
        if field is None or value is None or (info.context or {}).get("form"):
            return value
        leaves = _leaves(field.annotation)
        numeric = leaves & {int, float} and not leaves & {str, bool}
        if numeric and isinstance(value, bool | str):
            raise ValueError("must be a number, not " + type(value).__name__)
        if leaves & {datetime, AwareDatetime} and not isinstance(value, str | datetime):
            raise ValueError("must be an ISO 8601 time with a timezone")
        return value


def check_timestamp(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError("must be a time between the years 2000 and 2099")
    return value


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
# An aware time within EARLIEST..LATEST.
Timestamp = Annotated[AwareDatetime, AfterValidator(check_timestamp)]

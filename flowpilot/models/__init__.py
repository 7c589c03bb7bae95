"""All ORM tables; importing this module registers every table on ``Base.metadata``."""

from flowpilot.models.accounts import Account, User
from flowpilot.models.ai_sessions import AiSession, Step
from flowpilot.models.analytics import (
    BaselineObservation,
    HandoffDayBucket,
    HandoffDayCount,
    HandoffDuration,
)
from flowpilot.models.auth import LoginFailure, LoginSession
from flowpilot.models.events import Event
from flowpilot.models.handoffs import Handoff
from flowpilot.models.notifications import ClaimLink, Delivery

__all__ = [
    "Account",
    "AiSession",
    "BaselineObservation",
    "ClaimLink",
    "Delivery",
    "Event",
    "Handoff",
    "HandoffDayBucket",
    "HandoffDayCount",
    "HandoffDuration",
    "LoginFailure",
    "LoginSession",
    "Step",
    "User",
]

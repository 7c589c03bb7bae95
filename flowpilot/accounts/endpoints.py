"""HTTP for user administration (admins) and the caller's preferences."""

from __future__ import annotations

from fastapi import APIRouter

from flowpilot.accounts import service
from flowpilot.accounts.schemas import PreferencesUpdate, UserCreate, UserList, UserOut, UserUpdate
from flowpilot.auth.deps import AdminUser, CurrentUser
from flowpilot.kernel.deps import NowDep, PublisherDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["users"])


@router.get("/users", response_model=UserList)
async def list_users(actor: AdminUser, session: SessionDep) -> UserList:
    users = await service.list_users(session, actor=actor)
    return UserList(items=[UserOut.model_validate(u) for u in users])


@router.post("/users", response_model=UserOut, status_code=201)
async def create_user(
    body: UserCreate, actor: AdminUser, session: SessionDep, now: NowDep
) -> UserOut:
    user = await service.create_user(
        session,
        tenant=actor,
        email=body.email,
        name=body.name,
        role=body.role,
        password=body.password,
        now=now,
    )
    return UserOut.model_validate(user)


@router.patch("/users/{user_id}", response_model=UserOut)
async def update_user(
    user_id: str, body: UserUpdate, actor: AdminUser, session: SessionDep, bus: PublisherDep
) -> UserOut:
    user = await service.update_user(
        session,
        actor=actor,
        user_id=user_id,
        role=body.role,
        active=body.active,
        name=body.name,
        bus=bus,
    )
    return UserOut.model_validate(user)


@router.patch("/me/preferences", response_model=UserOut)
async def update_my_preferences(
    body: PreferencesUpdate, actor: CurrentUser, session: SessionDep
) -> UserOut:
    user = await service.update_preferences(
        session,
        actor=actor,
        user_id=actor.id,
        notify_email=body.notify_email,
        notify_min_urgency=body.notify_min_urgency,
        alert_desktop=body.alert_desktop,
        alert_min_urgency=body.alert_min_urgency,
        alert_sound=body.alert_sound,
    )
    return UserOut.model_validate(user)


@router.get("/me", response_model=UserOut)
async def me(actor: CurrentUser, session: SessionDep) -> UserOut:
    return UserOut.model_validate(await service.profile(session, actor=actor, user_id=actor.id))

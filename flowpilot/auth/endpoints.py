"""HTTP for login, logout and the caller's identity."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from flowpilot.auth import service
from flowpilot.auth.deps import COOKIE_NAME, CurrentUser
from flowpilot.auth.schemas import LoginIn, LoginOut, UserOut
from flowpilot.kernel.deps import NowDep, PublisherDep, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["auth"])


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/auth/login", response_model=LoginOut)
async def login(
    body: LoginIn, request: Request, session: SessionDep, now: NowDep, settings: SettingsDep
) -> Response:
    result = await service.login(
        session,
        email=body.email,
        password=body.password,
        client_ip=client_ip(request),
        now=now,
        settings=settings,
    )
    if result.retry_after is not None:
        return JSONResponse(
            {"detail": "too many failed logins; try again later"},
            status_code=429,
            headers={"Retry-After": str(result.retry_after)},
        )
    if result.token is None or result.user is None or result.login is None:
        # Returned (not raised) so the failed attempt is committed and counts.
        return JSONResponse({"detail": "invalid email or password"}, status_code=401)
    out = LoginOut(
        token=result.token,
        csrf_token=result.login.csrf_token,
        expires_at=result.login.expires_at.isoformat(),
        user=UserOut.model_validate(result.user),
    )
    response = JSONResponse(out.model_dump(mode="json"))
    response.set_cookie(
        COOKIE_NAME,
        result.token,
        max_age=settings.session_ttl_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )
    return response


@router.post("/auth/logout", status_code=204)
async def logout(
    actor: CurrentUser, session: SessionDep, settings: SettingsDep, bus: PublisherDep
) -> Response:
    await service.logout(session, actor=actor, bus=bus)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE_NAME, path="/", secure=settings.secure_cookies, httponly=True)
    return response

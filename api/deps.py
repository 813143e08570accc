"""Dependencies for the routes: the database session, the chain, the signed-in user and the
role checks.

Those that only look something up in memory are `async def`: FastAPI runs them on the event
loop itself, where a plain `def` dependency is handed to a worker thread and back. Under a
burst every such hand-off waits its turn on the busy loop: a simple read had seven, now five.
Those that touch the database (the session, the signed-in user) stay plain `def`, in a worker
thread, so the loop never waits for the database."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.chain import ChainAccess
from api.db import Database
from api.devices import device_open
from api.errors import ApiError
from api.limits import Limiter
from api.models import DeviceSession, User
from api.security import read_token
from api.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="a token from POST /auth/login")


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_chain(request: Request) -> ChainAccess:
    chain: ChainAccess = request.app.state.chain
    return chain


def get_session(request: Request) -> Iterator[Session]:
    """The request's session: a writing one (SQLite's write lock at its first query) for
    every method but GET and HEAD. Routes that call the chain do not take it: they use short
    sessions of their own around the chain call (api.db)."""
    database: Database = request.app.state.db
    with database.session(write=request.method not in ("GET", "HEAD")) as session:
        yield session


async def get_db(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


SettingsDep = Annotated[Settings, Depends(get_settings)]
ChainDep = Annotated[ChainAccess, Depends(get_chain)]
# scope="function": the transaction commits when the route returns, before the answer is
# sent, so a client never hears "done" about something the database then refused.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
DatabaseDep = Annotated[Database, Depends(get_db)]


def current_user(
    db: DatabaseDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The signed-in user, read in a short session of its own (so a route that calls the
    chain holds no connection while it waits); a detached copy of the row."""
    if credentials is None:
        raise ApiError(401, "not_signed_in", "sign in first (POST /auth/login)")
    data = read_token(settings.secret_key, credentials.credentials)
    if data is None:
        raise ApiError(401, "bad_token", "the sign-in has expired or is not valid; sign in again")
    with db.lookup() as session:  # two lookups, each standing alone
        user = session.get(User, data.user_id)
        device = None if data.device is None else session.get(DeviceSession, data.device)
    if data.device is not None and not device_open(device, data.user_id):
        raise ApiError(401, "bad_token", "you were signed out on this device; sign in again")
    if user is None or not user.active or user.role != data.role:
        raise ApiError(401, "bad_token", "this account is no longer active; sign in again")
    if data.generation != user.token_generation:  # the password changed since
        raise ApiError(401, "bad_token", "the password was changed; sign in again")
    return user


UserDep = Annotated[User, Depends(current_user)]


async def get_limiter(db: DatabaseDep, session: SessionDep) -> Limiter:
    """The attempt counters (api.limits), with the request's session."""
    return Limiter(db.engine, session)


LimiterDep = Annotated[Limiter, Depends(get_limiter)]


def require(*roles: str) -> Callable[[User], Coroutine[Any, Any, User]]:
    """A dependency that lets only users with one of `roles` through (403 otherwise)."""

    async def check(user: UserDep) -> User:
        if user.role not in roles:
            raise ApiError(
                403,
                "wrong_role",
                f"this is for {' or '.join(roles)}; you are signed in as {user.role}",
            )
        return user

    return check

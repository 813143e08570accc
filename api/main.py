"""The Heitje service: jobs, wallets, merchants and redemptions over heitje_chain.

    python -m api            (serves on 127.0.0.1:8000; settings from HEITJE_API_* variables)

Interactive documentation at /docs (Swagger UI) and /redoc (ReDoc), both served from the
npm packages in node_modules (no CDN), the OpenAPI description at /openapi.json. What every
request and answer goes through (the body limit, `Cache-Control: no-store`, HSTS) is in
`api.middleware`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from sqlalchemy import select

from api import errors, web
from api.audit import record
from api.chain import ChainAccess
from api.db import Database, migrate
from api.gate import WriteGate, chain_wait
from api.middleware import AnswerHeaders, BodyLimit
from api.models import User
from api.public import PublicLedger
from api.routes import (
    accounts,
    audit,
    auth,
    budgets,
    cards,
    config,
    desk,
    jobs,
    ledger,
    merchants,
    notices,
    payments,
    places,
    public,
    redemptions,
    residents,
    staff,
    statements,
    stats,
    status,
    wallet,
)
from api.schemas import ERRORS
from api.security import hash_password
from api.settings import Settings, load_settings
from api.statements import StatementStore
from api.worker import RewardWorker
from heitje_chain.waits import set_hook

log = logging.getLogger(__name__)

#: Threads for the routes (FastAPI runs each plain `def` route in one). A payment waits in its
#: thread for the chain's receipt without holding a database connection (api.db), so there
#: are enough threads for a burst of payments and the unrelated requests beside it; each
#: thread holds at most one pooled connection at a time, for a few milliseconds.
THREADS = 100


def bootstrap_admin(db: Database, settings: Settings) -> None:
    """The first admin account, `admin`, with HEITJE_API_ADMIN_PASSWORD, if there is none."""
    with db.session() as session:
        if session.scalar(select(User).where(User.role == "admin")) is None:
            admin = User(
                username="admin", role="admin", password_hash=hash_password(settings.admin_password)
            )
            session.add(admin)
            session.flush()
            record(session, None, "staff.bootstrap", f"user:{admin.id}", username="admin")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    db = Database(settings.database_url)
    chain = ChainAccess(settings)
    worker = RewardWorker(db, chain, settings.worker_interval)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        migrate(db.engine)
        bootstrap_admin(db, settings)
        if settings.development:
            log.warning("development mode: default secrets are allowed; never use in production")
        if settings.run_worker:
            worker.start()
        try:
            yield
        finally:
            worker.stop()
            db.dispose()

    app = FastAPI(
        title="Heitje",
        summary="The community currency's service: jobs, residents, merchants, redemptions.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by web.install_docs from the npm packages, not a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.chain = chain
    app.state.worker = worker
    app.state.public_ledger = PublicLedger(settings.public_cache_seconds)
    app.state.statements = StatementStore()
    errors.install(app)
    # Cheap phones on slow connections: compress answers (JSON, CSV, the app's files).
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    accounts.install(app)  # password cost, 429 with Retry-After
    # Outermost last: a body too large is refused before anything reads it; every answer,
    # the refusals too, gets the headers.
    # A writing request waits its turn once its whole body is in (a slow upload holds no
    # turn), inside the body limit (a body too large is refused before it is buffered).
    app.add_middleware(WriteGate, limit=settings.write_concurrency)
    set_hook(chain_wait)  # a request waiting for the chain gives its turn up (api.gate)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(AnswerHeaders, hsts=settings.behind_tls)
    workflow = (
        auth, accounts, staff, residents, jobs, merchants, payments, redemptions, places, wallet,
    )  # fmt: skip
    by_hand = (cards, desk)  # the Heitje card and the municipal desk
    app_parts = (notices, config)  # what the web app shows beside the workflow
    # the audit log, statistics, chain reads, statements; the public pages (no sign-in)
    reports = (audit, stats, ledger, budgets, status, statements, public)
    for module in (*workflow, *by_hand, *app_parts, *reports):
        app.include_router(module.router, responses=ERRORS)
    web.install(app, brand=settings.brand)  # the web app at /app/
    web.install_docs(app)  # Swagger UI at /docs, ReDoc at /redoc
    return app

"""The HTTP side of ``curator serve``: dashboard pages, their JSON API, and Prometheus /metrics.

Like the gRPC servicer, it only translates: query strings and JSON in, calls on
:class:`~curator.service.Curator`, JSON out. Pages are server-rendered Jinja2
templates; the charts are drawn in the browser by Chart.js, which ships in
``static/vendor`` (nothing is fetched from a CDN).

Routes (all JSON under /api):

* ``GET /`` dashboard, ``GET /login`` / ``POST /login`` / ``GET /logout`` when tokens are set
* ``GET /api/me`` who is signed in; ``GET /api/collections``
* ``GET /api/stats?collection=&bucket_seconds=&start=&end=`` totals, rates, series, breakdowns by
  every ``http.group_keys`` key, review counts, diversity windows
* ``GET /api/bias?collection=`` the bias report
* ``GET /api/collections/{name}/report?group_by=&k=&clusters=`` the coverage report against the collection's
  real-data reference (a few seconds: the dashboard asks for it on demand, never on its refresh)
* ``GET /api/decisions?collection=&verdict=&reason=&check=&metadata_key=&metadata_value=&review_state=
  &sample_id=&start=&end=&page_size=&page_token=`` decisions newest first, with matched samples
* ``POST /api/decisions/{id}/review`` body ``{"action": "approve"|"reject", "note": "", "reviewer": ""}``
* ``GET /metrics`` Prometheus text exposition; ``GET /healthz`` (never needs a token)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from curator import __version__
from curator.bias.audit import report_json
from curator.domain.decision import Verdict
from curator.domain.review import ReviewAction, ReviewState, parse_decision_id
from curator.errors import (
    AlreadyExists,
    CuratorError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from curator.formats import coverage_report_json, diversity_json, record_json
from curator.observability import metrics
from curator.service import Curator
from curator.state.store import DecisionQuery, StatsQuery, VerdictCounts

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
COOKIE = "curator_token"
# Chart.js sets canvas sizes through style attributes, hence 'unsafe-inline' for styles only.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_PUBLIC_PATHS = ("/healthz", "/login", "/static/")
_STATUS = {
    InvalidArgument: 400,
    NotFound: 404,
    AlreadyExists: 409,
    FailedPrecondition: 409,
    Unavailable: 503,
}


class _JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def create_app(curator: Curator, ready: Callable[[], bool] = lambda: True) -> Starlette:
    """The ASGI app over ``curator``; ``ready`` tells /healthz whether the models are loaded."""
    settings = curator.settings
    templates = Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]), auto_reload=False
    )

    def caller(request: Request) -> str | None:
        return request.scope.get("curator.caller")

    # ---------------------------------------------------------------- pages

    def dashboard(request: Request) -> Response:
        collections = [c.name for c in curator.list_collections()]
        selected = request.query_params.get("collection") or (collections[0] if collections else "")
        page = templates.get_template("dashboard.html").render(
            collections=collections,
            collection=selected,
            group_keys=settings.http.group_keys,
            user=caller(request),
            auth=bool(settings.auth.tokens),
            version=__version__,
        )
        return HTMLResponse(page)

    def login_page(request: Request) -> Response:
        page = templates.get_template("login.html").render(
            error=request.query_params.get("error"), next=_local(request.query_params.get("next"))
        )
        return HTMLResponse(page)

    async def login(request: Request) -> Response:
        form = await request.form()
        token = str(form.get("token", "")).strip()
        target = _local(str(form.get("next", "") or request.query_params.get("next", "")))
        if settings.auth.who(token) is None:
            return RedirectResponse(f"/login?error=unknown+token&next={quote(target)}", status_code=303)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https"
        )
        return response

    def logout(request: Request) -> Response:
        response = RedirectResponse("/login" if settings.auth.tokens else "/", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    # ---------------------------------------------------------------- JSON API

    def me(request: Request) -> Response:
        return _JSON({"user": caller(request), "auth": bool(settings.auth.tokens), "version": __version__})

    def collections(request: Request) -> Response:
        return _JSON(
            {
                "collections": [
                    {
                        "name": c.name,
                        "kept_count": c.kept_count,
                        "policy_version": c.policy_version,
                        "created_at": c.created_at.isoformat(),
                    }
                    for c in curator.list_collections()
                ]
            }
        )

    def stats(request: Request) -> Response:
        q = request.query_params
        query = StatsQuery(
            collection=q.get("collection") or None,
            start=_time(q, "start"),
            end=_time(q, "end"),
            bucket_seconds=_int(q, "bucket_seconds", 3600),
        )
        base = curator.stats(query)
        groups = {}
        for key in settings.http.group_keys:
            by_key = curator.store.stats(replace(query, group_by=key)).by_group
            groups[key] = {value: _counts(c) for value, c in sorted(by_key.items())}
        return _JSON(
            {
                "collection": query.collection,
                "bucket_seconds": base.bucket_seconds,
                "totals": _counts(base.totals),
                "reviews": {
                    "pending": base.reviews.pending,
                    "approved": base.reviews.approved,
                    "rejected": base.reviews.rejected,
                },
                "by_reason": dict(sorted(base.by_reason.items(), key=lambda kv: (-kv[1], kv[0]))),
                "by_check": base.by_check,
                "by_group": groups,
                "series": [{"start": t.isoformat(), **_counts(c)} for t, c in base.series],
                "diversity": [diversity_json(w) for w in base.diversity],
            }
        )

    def bias(request: Request) -> Response:
        q = request.query_params
        query = StatsQuery(
            collection=q.get("collection") or None, start=_time(q, "start"), end=_time(q, "end")
        )
        return _JSON(report_json(curator.bias_report(query)))

    def coverage(request: Request) -> Response:
        q = request.query_params
        options: dict[str, Any] = {"group_by": q.get("group_by") or "source"}
        for name in ("k", "clusters"):
            if q.get(name):
                options[name] = _int(q, name, 0)
        return _JSON(coverage_report_json(curator.report(request.path_params["name"], **options)))

    def decisions(request: Request) -> Response:
        q = request.query_params
        query = DecisionQuery(
            collection=q.get("collection") or None,
            verdict=_enum(Verdict, q, "verdict"),
            reason=q.get("reason") or None,
            check=q.get("check") or None,
            metadata_key=q.get("metadata_key") or None,
            metadata_value=q.get("metadata_value"),
            review_state=_enum(ReviewState, q, "review_state"),
            sample_id=q.get("sample_id") or None,
            start=_time(q, "start"),
            end=_time(q, "end"),
            limit=_int(q, "page_size", 0),
        )
        page = curator.list_decisions(query, q.get("page_token", ""))
        return _JSON(
            {
                "decisions": [
                    record_json(rec, {k[1]: v for k, v in page.matched.items() if k[0] == rec.collection})
                    for rec in page.decisions
                ],
                "next_page_token": page.next_page_token,
            }
        )

    async def review(request: Request) -> Response:
        decision_id = parse_decision_id(request.path_params["decision_id"])
        if decision_id is None:
            raise InvalidArgument(
                FieldViolation("decision_id", "decision ids are whole numbers, as /api/decisions lists them")
            )
        try:
            body = orjson.loads(await request.body() or b"{}")
        except orjson.JSONDecodeError as err:
            raise InvalidArgument(FieldViolation("body", f"body must be JSON: {err}")) from err
        if not isinstance(body, dict):
            raise InvalidArgument(FieldViolation("body", 'body must be a JSON object: {"action": "approve"}'))
        try:
            action = ReviewAction(str(body.get("action", "")).lower())
        except ValueError:
            raise InvalidArgument(FieldViolation("action", 'action must be "approve" or "reject"')) from None
        reviewer = caller(request) or str(body.get("reviewer", ""))
        note = str(body.get("note", ""))
        record = await run_in_threadpool(curator.review_decision, decision_id, action, reviewer, note)
        matched = await run_in_threadpool(curator.matched_samples, [record])
        return _JSON({"decision": record_json(record, {k[1]: v for k, v in matched.items()})})

    def metrics_endpoint(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)

    def healthz(request: Request) -> Response:
        ok = ready()
        return _JSON({"status": "ok" if ok else "starting"}, status_code=200 if ok else 503)

    routes = [
        Route("/", dashboard),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout),
        Route("/api/me", me),
        Route("/api/collections", collections),
        Route("/api/collections/{name}/report", coverage),
        Route("/api/stats", stats),
        Route("/api/bias", bias),
        Route("/api/decisions", decisions),
        Route("/api/decisions/{decision_id}/review", review, methods=["POST"]),
        Route("/metrics", metrics_endpoint),
        Route("/healthz", healthz),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(_SecurityHeaders), Middleware(_AuthMiddleware, curator=curator)],
        exception_handlers={CuratorError: _error},  # type: ignore[dict-item]
    )


def _local(target: str | None) -> str:
    """Where to go after sign-in: a path on this server only (never an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


class _SecurityHeaders(BaseHTTPMiddleware):
    """Nothing but this server's own scripts, styles and images; no framing; no MIME sniffing."""

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


class _AuthMiddleware(BaseHTTPMiddleware):
    """With ``auth.tokens`` set: a bearer token or the sign-in cookie, except on public paths."""

    def __init__(self, app: Any, curator: Curator) -> None:
        super().__init__(app)
        self.auth = curator.settings.auth

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if not self.auth.tokens or request.url.path.startswith(_PUBLIC_PATHS):
            return await call_next(request)
        bearer = self.auth.bearer(request.headers.get("authorization", ""))
        who = self.auth.who(bearer if bearer is not None else request.cookies.get(COOKIE, ""))
        if who is None:
            if request.url.path.startswith("/api/") or request.url.path == "/metrics":
                return _JSON(
                    {"error": "missing or unknown token: send 'Authorization: Bearer <token>' or sign in"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        request.scope["curator.caller"] = who
        return await call_next(request)


def _error(request: Request, err: Exception) -> Response:
    status = next((code for kind, code in _STATUS.items() if isinstance(err, kind)), 500)
    body: dict[str, Any] = {"error": str(err)}
    if isinstance(err, InvalidArgument):
        body["field_violations"] = [{"field": v.field, "description": v.description} for v in err.violations]
    return _JSON(body, status_code=status)


# ---------------------------------------------------------------- JSON shapes


def _counts(c: VerdictCounts) -> dict[str, Any]:
    total = c.total
    return {
        "keep": c.keep,
        "drop": c.drop,
        "review": c.review,
        "total": total,
        "drop_rate": c.drop / total if total else None,
        "review_rate": c.review / total if total else None,
    }


def _int(q: Any, name: str, default: int) -> int:
    raw = q.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidArgument(FieldViolation(name, f"{name} must be a whole number, got {raw!r}")) from None


def _time(q: Any, name: str) -> datetime | None:
    raw = q.get(name)
    if not raw:
        return None
    try:
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(
            FieldViolation(name, f"{name} must be an ISO 8601 time such as 2026-11-21T09:00:00Z, got {raw!r}")
        ) from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _enum(kind: Any, q: Any, name: str) -> Any:
    raw = q.get(name)
    if not raw:
        return None
    try:
        return kind(raw.lower())
    except ValueError:
        allowed = ", ".join(v.value for v in kind)
        raise InvalidArgument(FieldViolation(name, f"{name} must be one of {allowed}, got {raw!r}")) from None

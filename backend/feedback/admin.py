"""The optional review page: GET /admin/feedback lists recent answers with thumbnails; each
can be accepted or rejected (scribbles, abuse). Only with FEEDBACK_ADMIN_TOKEN set.

HTTP Basic authentication (any user name, the token as password) so a browser can open it;
deploy it behind HTTPS. Its forms carry a token derived from the admin token, so another site
cannot make a logged-in browser change a review (CSRF).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import cv2
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    redirect,
    render_template_string,
    request,
)

from backend.feedback.api import get_store
from backend.feedback.records import STATUSES, Correction

bp = Blueprint("admin", __name__, url_prefix="/admin")
TOKEN_EXTENSION = "mnist_admin_token"
PAGE_SIZE = 100

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Feedback review</title></head>
<body>
<h1>Feedback review</h1>
<p>{{ corrections|length }} most recent{% if status %} ({{ status }}){% endif %}.
Show: <a href="?">all</a>
{% for s in statuses %} · <a href="?status={{ s }}">{{ s }}</a>{% endfor %}</p>
<table>
<tr><th>image</th><th>read</th><th>said</th><th>version</th><th>when</th><th>status</th><th></th></tr>
{% for c in corrections %}
<tr data-id="{{ c.id }}">
<td><img src="{{ thumbnail(c) }}" width="56" height="56" alt="the 28x28 input"></td>
<td>{{ "none" if c.predicted is none else c.predicted }}</td>
<td>{{ c.corrected }}{% if c.is_confirmation %} (right){% endif %}</td>
<td>{{ c.model_version }}</td><td>{{ c.created_at.isoformat(timespec="seconds") }}</td>
<td>{{ c.status }}</td>
<td><form method="post" action="{{ url_for('admin.review', correction_id=c.id) }}">
<input type="hidden" name="csrf" value="{{ csrf }}">
<button name="status" value="accepted">accept</button>
<button name="status" value="rejected">reject</button></form></td>
</tr>
{% endfor %}
</table>
</body></html>
"""


def init_app(app: Flask, token: str) -> None:
    app.extensions[TOKEN_EXTENSION] = token
    app.register_blueprint(bp)


def admin_token() -> str:
    return current_app.extensions[TOKEN_EXTENSION]


@bp.before_request
def authenticate() -> Response | None:
    token = admin_token()
    given = request.authorization.password if request.authorization else None
    if given is None or not hmac.compare_digest(given.encode(), token.encode()):
        return Response("authentication required\n", 401,
                        {"WWW-Authenticate": 'Basic realm="feedback review"'})
    return None


def csrf_token() -> str:
    return hmac.new(admin_token().encode(), b"feedback review form", hashlib.sha256).hexdigest()


def thumbnail(correction: Correction) -> str:
    _, png = cv2.imencode(".png", correction.pixels)
    return "data:image/png;base64," + base64.b64encode(png.tobytes()).decode()


@bp.get("/feedback")
def review_page() -> str:
    status = request.args.get("status")
    if status not in (None, *STATUSES):
        abort(400)
    corrections = get_store().recent(PAGE_SIZE, status)
    return render_template_string(PAGE, corrections=corrections, status=status,
                                  statuses=STATUSES, csrf=csrf_token(), thumbnail=thumbnail)


@bp.post("/feedback/<correction_id>")
def review(correction_id: str) -> Response:
    if not hmac.compare_digest(request.form.get("csrf", ""), csrf_token()):
        abort(403)
    status = request.form.get("status")
    if status not in ("accepted", "rejected"):
        abort(400)
    if not get_store().set_status([correction_id], status):
        abort(404)
    return redirect(request.referrer if _same_origin(request.referrer) else "../feedback", 303)


def _same_origin(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)

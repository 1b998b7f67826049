"""Pages every user shares: log in, log out, the home page that sends each role to its work."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from app.errors import AppError
from app.services.administration import accounts
from app.web.common.auth import system
from app.web.common.session import current_user, log_in, log_out, login_required

bp = Blueprint("pages", __name__)
START_PAGES = [("citizen", "citizen.home"), ("one_stop", "staff.inbox"), ("leader", "staff.inbox"),
               ("justice_officer", "staff.inbox"), ("signer", "staff.inbox"), ("clerk", "staff.inbox"),
               ("admin", "admin_processes.index"), ("auditor", "audit_pages.search")]


def safe_next(target: str | None) -> str | None:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


@bp.get("/")
def home():
    """Each user starts where their work is."""
    user = current_user()
    if user is None:
        return render_template("home.html")
    for role, endpoint in START_PAGES:
        if user.has_role(role):
            return redirect(url_for(endpoint))
    return render_template("home.html", user=user)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        try:
            user = accounts.authenticate(system(), request.form.get("username", ""), request.form.get("password", ""))
        except AppError as exc:
            return render_template("login.html", error=exc.message, username=request.form.get("username", "")), \
                exc.status
        log_in(user)
        return redirect(safe_next(request.args.get("next")) or url_for("pages.home"))
    return render_template("login.html")


@bp.post("/logout")
@login_required()
def logout():
    log_out()
    flash("Đã đăng xuất.", "info")
    return redirect(url_for("pages.login"))

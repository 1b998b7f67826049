"""certcopy: electronic certified copies from originals (chứng thực bản sao điện tử từ bản chính)."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from app.config import Settings
from app.errors import AppError
from app.adapters.security import TokenIssuer
from app.system import System
from app.web.common import headers
from app.web.common.urls import BoundedIntConverter


def create_app(settings: Settings | None = None, system: System | None = None) -> Flask:
    settings = settings or (system.settings if system else Settings.load())
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=settings.max_upload_bytes + 1024 * 1024,
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    app.json.ensure_ascii = False
    app.url_map.converters["int"] = BoundedIntConverter
    headers.install(app, settings.public_base_url)
    system = system or System(settings)
    app.extensions["certcopy"] = system
    app.extensions["certcopy_tokens"] = TokenIssuer(settings.secret_key, settings.token_hours)

    from app import scheduler
    from app.web.admin import agencies as admin_pages, processes as admin_processes
    from app.web.api import (
        dossiers as api,
        admin as api_admin,
        appointments as api_appointments,
        citizen as api_citizen,
        due as api_due,
        processes as api_processes,
        receipts as api_receipts,
        registers as api_registers,
        reports as api_reports,
        setup as api_setup,
        openapi,
    )
    from app.web.staff import (
        appointments as appointments_pages,
        due as due_pages,
        registers as registers_pages,
        reports as reports_pages,
        setup as setup_pages,
        inbox as staff,
        dossiers as staff_dossiers,
        notifications as staff_notifications,
        walkin as staff_walkin,
    )
    from app.web.audit import pages as audit_pages
    from app.web.citizen import portal as citizen
    from app.web.public import pages, verify as verify_pages
    from app.web.common.menu import entries_for
    from app.web.common.session import check_csrf, csrf_token, current_user

    blueprints = (
        # JSON API (/api/v1)
        api, api_admin, api_appointments, api_citizen, api_due, api_processes, api_receipts, api_registers,
        api_reports, api_setup, openapi,
        # pages: everyone, citizens, staff, clerks and set-up, administrators, auditors, the public
        pages, citizen, appointments_pages, staff, staff_dossiers, staff_walkin, staff_notifications, due_pages,
        registers_pages, setup_pages, admin_pages, admin_processes, reports_pages, audit_pages, verify_pages,
        scheduler,
    )
    for module in blueprints:
        app.register_blueprint(module.bp)
    app.before_request(check_csrf)

    @app.context_processor
    def _page_context():
        user = current_user()
        return {"current_user": user, "menu": entries_for(user), "csrf_token": csrf_token}

    _register_error_handlers(app)
    return app


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(AppError)
    def _app_error(exc: AppError):
        if request.path.startswith("/api/"):
            return jsonify(error_body(exc.code, exc.message, exc.details)), exc.status
        return render_template("error.html", title="Không thực hiện được", message=exc.message,
                               status=exc.status), exc.status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        # A bug or an outage, never bad input: the transaction was rolled back; say so without details.
        app.logger.exception("unexpected error on %s %s", request.method, request.path)
        message = "Lỗi hệ thống: thao tác chưa được thực hiện, không có dữ liệu nào bị thay đổi. Vui lòng thử lại."
        if request.path.startswith("/api/"):
            return jsonify(error_body("internal_error", message)), 500
        return render_template("error.html", title="Lỗi hệ thống", message=message, status=500), 500

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        codes = {404: "not_found", 405: "method_not_allowed", 413: "file_too_large", 400: "bad_request"}
        message = exc.description or exc.name
        if exc.code == 413:
            limit = app.extensions["certcopy"].settings.max_upload_bytes // (1024 * 1024)
            message = f"Tệp vượt quá dung lượng cho phép ({limit} MB)."
        # Allow on a 405, WWW-Authenticate on a 401: the headers the status promises
        kept = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        if request.path.startswith("/api/"):
            return jsonify(error_body(codes.get(exc.code, "http_error"), message)), exc.code, kept
        titles = {400: "Yêu cầu không hợp lệ", 403: "Không có quyền truy cập", 404: "Không tìm thấy trang",
                  405: "Thao tác không được hỗ trợ", 413: "Tệp quá lớn"}
        return render_template("error.html", title=titles.get(exc.code, exc.name), message=message,
                               status=exc.code), exc.code, kept

"""Public verification pages (no login): the QR code on every certified copy points here."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from app.errors import AppError
from app.services.verification import lookup_entry, verify_document
from app.web.common.auth import system

bp = Blueprint("verify_pages", __name__, url_prefix="/verify")


@bp.route("/", methods=["GET", "POST"])
def check_file():
    report, error = None, None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            error = "Hãy chọn tệp PDF bản sao cần kiểm tra."
        else:
            try:
                report = verify_document(system(), upload.read())
            except AppError as exc:
                error = exc.message
    return render_template("verify/index.html", report=report, error=error), 422 if error else 200


@bp.get("/<int:number>")
def entry(number: int):
    found = lookup_entry(system(), number, request.args.get("register"), request.args.get("date"))
    return render_template("verify/entry.html", number=number, entry=found,
                           register=request.args.get("register")), 200 if found else 404

"""Administrator pages: routing variants and versions, the diagram viewer and modeler, upload, dry run,
activation and migration of running dossiers. A thin layer over app.services.routing.redesign."""
from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from app.adapters.models import User
from app.errors import AppError
from app.resources import form_names
from app.services.routing import redesign
from app.services.routing.checks import LANE_ROLES
from app.web.common.auth import system
from app.web.common.menu import register as menu_register
from app.web.common.session import current_user, login_required

bp = Blueprint("admin_processes", __name__, url_prefix="/admin/processes")
menu_register("Quy trình BPMN", "admin_processes.index", ("admin",), order=80)


def _admin() -> User:
    return current_user()


@bp.get("/")
@login_required("admin")
def index():
    return render_template("processes/index.html", by_variant=redesign.versions_by_variant(system()),
                           names=redesign.VARIANT_NAMES)


@bp.get("/<variant>/<int:version>")
@login_required("admin")
def show(variant, version):
    page = redesign.version_page(system(), variant, version)
    return render_template("processes/show.html", variant=variant, names=redesign.VARIANT_NAMES,
                           problems=[p.as_dict() for p in page["report"].problems], **page)


@bp.get("/<variant>/<int:version>.bpmn")
@login_required("admin", "auditor")
def download(variant, version):
    row = redesign.load_version(system(), variant, version)
    return Response(row.bpmn_xml, mimetype="application/xml", headers={
        "Content-Disposition": f'attachment; filename="copy_certification_{variant}_v{version}.bpmn"'})


@bp.get("/<variant>/<int:version>/edit")
@login_required("admin")
def edit(variant, version):
    row = redesign.load_version(system(), variant, version)
    forms = form_names()
    return render_template("processes/edit.html", variant=variant, version=row, names=redesign.VARIANT_NAMES,
                           forms=forms, roles=list(LANE_ROLES))


@bp.post("/<variant>/save")
@login_required("admin")
def save(variant):
    """Called by the modeler page (fetch): the XML as the file field `file` (or form field `xml`); answers JSON."""
    upload = request.files.get("file")
    xml = upload.read() if upload is not None else request.form.get("xml", "")
    try:
        version, report, created = redesign.save_version(system(), variant, xml, _admin().username)
    except AppError as exc:
        return jsonify({"ok": False, "message": exc.message, "code": exc.code,
                        "problems": exc.details.get("problems", [])}), exc.status
    message = (f"Đã lưu phiên bản {version.version} (chưa áp dụng)." if created
               else f"Nội dung trùng với phiên bản {version.version} đã có; không tạo phiên bản mới.")
    flash(message, "success")
    return jsonify({"ok": True, "version": version.version, "created": created,
                    "warnings": [p.as_dict() for p in report.warnings],
                    "url": url_for("admin_processes.show", variant=variant, version=version.version)}), \
        201 if created else 200


@bp.route("/<variant>/upload", methods=["GET", "POST"])
@login_required("admin")
def upload(variant):
    redesign.check_variant(variant)
    if request.method == "GET":
        return render_template("processes/upload.html", variant=variant, names=redesign.VARIANT_NAMES)
    file = request.files.get("file")
    data = file.read() if file else b""
    if not data:
        return render_template("processes/upload.html", variant=variant, names=redesign.VARIANT_NAMES,
                               error="Chưa chọn tệp BPMN."), 400
    try:
        version, _report, created = redesign.save_version(system(), variant, data, _admin().username)
    except AppError as exc:
        text = data.decode("utf-8", errors="replace")
        return render_template("processes/upload.html", variant=variant, names=redesign.VARIANT_NAMES,
                               error=exc.message, problems=exc.details.get("problems", []),
                               rejected_xml=text if exc.code == "invalid_bpmn" else None,
                               filename=file.filename), exc.status
    flash(f"Đã lưu phiên bản {version.version} từ tệp {file.filename} (chưa áp dụng)." if created
          else f"Tệp trùng với phiên bản {version.version} đã có.", "success")
    return redirect(url_for("admin_processes.show", variant=variant, version=version.version))


@bp.post("/<variant>/<int:version>/dry-run")
@login_required("admin")
def dry_run(variant, version):
    report = redesign.dry_run(system(), variant, version, _admin().username)
    summary = report["summary"]
    flash(f"Đã chạy thử {summary['cases']} trường hợp: {summary['cases'] - summary['differing']} đi cùng đường, "
          f"{summary['differing']} khác.", "success" if not summary["differing"] else "info")
    return redirect(url_for("admin_processes.show", variant=variant, version=version) + "#dry-run")


@bp.post("/<variant>/<int:version>/activate")
@login_required("admin")
def activate(variant, version):
    try:
        result = redesign.activate_version(system(), variant, version, _admin().username)
    except AppError as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin_processes.show", variant=variant, version=version))
    if result["changed"]:
        flash(f"Đã áp dụng phiên bản {version} cho hồ sơ mới (trước đó: phiên bản {result['previous']}). "
              "Hồ sơ đang xử lý vẫn theo phiên bản cũ.", "success")
    else:
        flash(f"Phiên bản {version} đang được áp dụng.", "info")
    return redirect(url_for("admin_processes.show", variant=variant, version=version))


@bp.route("/<variant>/<int:version>/migrate", methods=["GET", "POST"])
@login_required("admin")
def migrate(variant, version):
    outcome = None
    if request.method == "POST":
        codes = request.form.getlist("dossiers")
        if not codes:
            flash("Chưa chọn hồ sơ nào.", "error")
        else:
            try:
                outcome = redesign.migrate_dossiers(system(), variant, version, codes, _admin())
            except AppError as exc:
                flash(exc.message, "error")
    plans = redesign.migration_plans(system(), variant, version)
    return render_template("processes/migrate.html", variant=variant, version=version, plans=plans,
                           outcome=outcome, names=redesign.VARIANT_NAMES)

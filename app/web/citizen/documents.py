"""Kho dữ liệu của công dân (/cong-dan/kho-du-lieu): the originals the citizen filed and the certified copies returned
to them; download, or remove from the store (the dossier keeps its own copy). A thin layer over
app/services/dossiers/documents.py."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for

from app.services.dossiers import documents as citizen_documents
from app.web.common.auth import system
from app.web.citizen.common import page, pdf_attachment
from app.web.common.session import current_user, login_required

bp = Blueprint("documents", __name__)


@bp.get("/kho-du-lieu")
@login_required("citizen")
def index():
    rows = citizen_documents.list_documents(system(), current_user())
    return page("citizen/documents.html", documents=rows, kind_names=citizen_documents.KIND_NAMES)


@bp.get("/kho-du-lieu/<int:document_id>/tai-ve")
@login_required("citizen")
def download(document_id):
    return pdf_attachment(*citizen_documents.document_file(system(), current_user(), document_id))


@bp.post("/kho-du-lieu/<int:document_id>/xoa")
@login_required("citizen")
def delete(document_id):
    citizen_documents.delete_document(system(), current_user(), document_id)
    flash("Đã xóa giấy tờ khỏi kho dữ liệu. Bản lưu trong hồ sơ vẫn được giữ nguyên.", "success")
    return redirect(url_for("citizen.documents.index"))

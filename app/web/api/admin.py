"""JSON API /api/v1 for administrators: agencies and staff users."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from app.errors import BadRequest
from app.services.administration import agencies as admin_service
from app.web.api.dossiers import json_body
from app.web.common.auth import api_user, system

bp = Blueprint("api_admin", __name__, url_prefix="/api/v1")


@bp.post("/agencies")
def create_agency():
    """Create an agency: {"code", "name", "level": province|district|commune, "parent": code|null, "slug"?}."""
    return jsonify(admin_service.create_agency(system(), api_user(), json_body())), 201


@bp.patch("/agencies/<ref>")
def update_agency(ref):
    """Edit an agency (the code only while it has no dossier)."""
    return jsonify(admin_service.update_agency(system(), api_user(), ref, json_body()))


@bp.delete("/agencies/<ref>")
def delete_agency(ref):
    """Delete an agency nothing refers to (409 otherwise)."""
    admin_service.delete_agency(system(), api_user(), ref)
    return Response(status=204)


@bp.get("/users")
def list_users():
    """Staff users (?agency=&role=&q=; citizens only with role=citizen)."""
    return jsonify(admin_service.user_list(system(), api_user(), agency=request.args.get("agency"),
                                           role=request.args.get("role"), q=request.args.get("q")))


@bp.get("/users/<username>")
def get_user(username):
    return jsonify(admin_service.user_detail(system(), api_user(), username))


@bp.post("/users")
def create_user():
    """Create a staff user: {"username", "full_name", "title", "email", "phone", "agency", "roles": [...],
    "password"?}; without a password one is generated and returned once as `password`."""
    view, generated = admin_service.create_staff_user(system(), api_user(), json_body())
    if generated:
        view["password"] = generated
    return jsonify(view), 201


@bp.patch("/users/<username>")
def update_user(username):
    """Edit a user: full name, title, contact, agency, roles, active."""
    return jsonify(admin_service.update_staff_user(system(), api_user(), username, json_body()))


@bp.post("/users/<username>/password")
def reset_password(username):
    """Reset a password: {"password"?}; without one a password is generated and returned once."""
    body = request.get_json(silent=True)
    if body is None and request.data:
        raise BadRequest("Nội dung yêu cầu phải là một đối tượng JSON.", code="invalid_json")
    body = body or {}
    if not isinstance(body, dict):
        raise BadRequest("Nội dung yêu cầu phải là một đối tượng JSON.", code="invalid_json")
    given = body.get("password")
    password = admin_service.reset_password(system(), api_user(), username, given)
    return jsonify({"username": username, **({} if given else {"password": password})})

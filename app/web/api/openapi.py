"""The live OpenAPI document of /api/v1, built from the registered routes (so every blueprint is listed)."""
from __future__ import annotations

import re

from flask import Blueprint, current_app, jsonify

bp = Blueprint("openapi", __name__)

PUBLIC = {("POST", "/api/v1/auth/token"), ("POST", "/api/v1/auth/register"), ("POST", "/api/v1/verify"),
          ("GET", "/api/v1/openapi.json"), ("GET", "/api/v1/agencies"), ("GET", "/api/v1/procedures"),
          ("GET", "/api/v1/agencies/<ref>/slots"), ("POST", "/api/v1/payments/<reference>/notify"),
          ("GET", "/api/v1/verify/<int:number>")}
ERROR_SCHEMA = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message", "details"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}}}},
}


def _openapi_path(rule: str) -> tuple[str, list[dict]]:
    params = []

    def repl(match):
        converter, name = match.group(1), match.group(2)
        params.append({"name": name, "in": "path", "required": True,
                       "schema": {"type": "integer" if converter == "int" else "string"}})
        return "{" + name + "}"

    return re.sub(r"<(?:(\w+):)?(\w+)>", repl, rule), params


def build_document() -> dict:
    paths: dict[str, dict] = {}
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path, params = _openapi_path(rule.rule)
        view = current_app.view_functions[rule.endpoint]
        doc = (view.__doc__ or "").strip()
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            op = {
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "summary": doc.splitlines()[0] if doc else rule.endpoint.split(".")[-1].replace("_", " "),
                "parameters": params,
                "responses": {"200": {"description": "OK"},
                              "4XX": {"description": "Error", "content": {"application/json": {
                                  "schema": {"$ref": "#/components/schemas/Error"}}}}},
            }
            if (method, rule.rule) not in PUBLIC:
                op["security"] = [{"bearer": []}]
            paths.setdefault(path[len("/api/v1"):], {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "certcopy API", "version": "1",
                 "description": "Chứng thực bản sao điện tử từ bản chính — the JSON API (see API.md)."},
        "servers": [{"url": "/api/v1"}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": {"Error": ERROR_SCHEMA},
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


@bp.get("/api/v1/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API."""
    return jsonify(build_document())

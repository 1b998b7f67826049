"""JSON API /api/v1 for the set-up of seed 002: signature images, seal images and signing credentials."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from app import clock
from app.services.administration import signing_setup as setup_service
from app.web.common.auth import api_user, system

bp = Blueprint("api_setup", __name__, url_prefix="/api/v1")


def _upload(field: str) -> bytes | None:
    upload = request.files.get(field)
    return upload.read() if upload else None


def _image_body(info: setup_service.ImageInfo) -> dict:
    return {"format": info.format.lower(), "width": info.width, "height": info.height, "size": info.size}


@bp.get("/setup/status")
def setup_status():
    """What is still missing before the caller can sign or seal (signature image, credentials, seal, register)."""
    return jsonify(setup_service.setup_status(system(), api_user(), clock.now()))


@bp.post("/users/<username>/signature-image")
def upload_signature_image(username):
    """The signer's signature image (PNG or JPEG showing full name and title), multipart field `image`."""
    info = setup_service.set_signature_image(system(), api_user(), username, _upload("image"))
    return jsonify(_image_body(info)), 201


@bp.get("/users/<username>/signature-image")
def get_signature_image(username):
    data = setup_service.signature_image(system(), api_user(), username)
    return Response(data, mimetype=setup_service.sniff_mimetype(data))


@bp.post("/agencies/<ref>/seal-image")
def upload_seal_image(ref):
    """The agency's seal image (PNG or JPEG), multipart field `image`."""
    info = setup_service.set_seal_image(system(), api_user(), ref, _upload("image"))
    return jsonify(_image_body(info)), 201


@bp.get("/agencies/<ref>/seal-image")
def get_seal_image(ref):
    data = setup_service.seal_image(system(), api_user(), ref)
    return Response(data, mimetype=setup_service.sniff_mimetype(data))


@bp.post("/users/<username>/credentials")
def upload_signer_credential(username):
    """A signer's PKCS#12 (multipart `pkcs12` and `passphrase`), checked with its passphrase, stored encrypted."""
    view = setup_service.upload_signer_credential(system(), api_user(), username, _upload("pkcs12"),
                                                  request.form.get("passphrase"))
    return jsonify(view), 201


@bp.get("/users/<username>/credentials")
def list_signer_credentials(username):
    return jsonify(setup_service.list_signer_credentials(system(), api_user(), username))


@bp.post("/agencies/<ref>/credentials")
def upload_seal_credential(ref):
    """The agency seal's PKCS#12 (multipart `pkcs12` and `passphrase`)."""
    view = setup_service.upload_seal_credential(system(), api_user(), ref, _upload("pkcs12"),
                                                request.form.get("passphrase"))
    return jsonify(view), 201


@bp.get("/agencies/<ref>/credentials")
def list_seal_credentials(ref):
    return jsonify(setup_service.list_seal_credentials(system(), api_user(), ref))

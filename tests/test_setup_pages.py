"""Set-up pages: the signer's signature and credential page (with the expiry warning), the clerk's seal page."""
from __future__ import annotations

import io

from sqlalchemy import select

from app.adapters.models import Agency, User
from tests.test_registers_pages import csrf_of, page_login
from tests.test_setup_api import image_bytes, make_p12


def post_file(client, path, token, fields: dict, files: dict):
    data = {"csrf_token": token, **fields}
    data.update({name: (io.BytesIO(content), filename) for name, (content, filename) in files.items()})
    return client.post(path, data=data, content_type="multipart/form-data")


def test_signer_page_shows_the_image_and_credential_and_uploads(client, system):
    token = page_login(client, "signer.pcc1")
    html = client.get("/setup/signature").get_data(as_text=True)
    assert "Chữ ký và chứng thư số" in html and "Lý Thị Thu Trang" in html and "Công chứng viên" in html
    assert "Đã cài đặt đủ để ký chứng thực" in html and "Dấu vân tay SHA-256" in html
    assert "/setup/images/signature/signer.pcc1" in html
    assert client.get("/setup/images/signature/signer.pcc1").mimetype == "image/png"

    refused = post_file(client, "/setup/signature", token, {"action": "image"}, {"image": (image_bytes(), "a.png")})
    assert refused.status_code == 422 and "Cần xác nhận ảnh chữ ký" in refused.get_data(as_text=True)
    bad = post_file(client, "/setup/signature", token, {"action": "image", "confirm": "1"},
                    {"image": (b"GIF89a....", "a.gif")})
    assert bad.status_code == 415 and "PNG hoặc JPEG" in bad.get_data(as_text=True)
    new_image = image_bytes(size=(700, 260))
    ok = post_file(client, "/setup/signature", token, {"action": "image", "confirm": "1"},
                   {"image": (new_image, "chu-ky.png")})
    assert ok.status_code == 302
    assert "Đã cập nhật ảnh chữ ký" in client.get(ok.headers["Location"]).get_data(as_text=True)
    assert client.get("/setup/images/signature/signer.pcc1").get_data() == new_image

    wrong = post_file(client, "/setup/signature", token, {"action": "credential", "passphrase": "khong-dung"},
                      {"pkcs12": (make_p12("dung-roi"), "ck.p12")})
    assert wrong.status_code == 422 and "Mật khẩu (mã PIN) không mở được" in wrong.get_data(as_text=True)
    expiring = post_file(client, "/setup/signature", token, {"action": "credential", "passphrase": "dung-roi"},
                         {"pkcs12": (make_p12("dung-roi", days=20, cn="Lý Thị Thu Trang (2)"), "ck.p12")})
    assert expiring.status_code == 302
    html = client.get("/setup/signature").get_data(as_text=True)
    assert "Đã lưu chứng thư số Lý Thị Thu Trang (2)" in html
    assert "sẽ hết hạn" in html and "còn 19 ngày" in html and 'data-gap="credential_expiring"' in html
    assert "dung-roi" not in html


def test_missing_image_is_listed_as_what_to_set_up(client, system):
    with system.db.session() as session, session.begin():
        session.scalar(select(User).where(User.username == "signer.pacnam")).signature_image_sha256 = None
        session.scalar(select(Agency).where(Agency.slug == "pacnam")).seal_image_sha256 = None
    page_login(client, "signer.pacnam")
    html = client.get("/setup/signature").get_data(as_text=True)
    assert "Chưa ký/đóng dấu được: cần cài đặt" in html and 'data-gap="missing_signature_image"' in html
    client.post("/logout", data={"csrf_token": csrf_of(html)})
    token = page_login(client, "clerk.pacnam")
    html = client.get("/setup/seal").get_data(as_text=True)
    assert 'data-gap="missing_seal_image"' in html and "Chưa có ảnh con dấu" in html
    seal = image_bytes(size=(400, 400), colour=(200, 16, 30))
    small = post_file(client, "/setup/seal", token, {"action": "image"},
                      {"image": (image_bytes(size=(90, 90)), "d.png")})
    assert small.status_code == 422 and "quá nhỏ" in small.get_data(as_text=True)
    assert post_file(client, "/setup/seal", token, {"action": "image"}, {"image": (seal, "dau.png")}).status_code == 302
    html = client.get("/setup/seal").get_data(as_text=True)
    assert "Đã cập nhật ảnh con dấu" in html and "Đã cài đặt đủ để đóng dấu bản sao" in html


def test_setup_pages_are_for_their_roles(client):
    page_login(client, "clerk.pcc1")
    assert client.get("/setup/signature").status_code == 403
    assert client.get("/setup/seal").status_code == 200
    assert "Con dấu của cơ quan" in client.get("/", follow_redirects=True).get_data(as_text=True)
    assert client.get("/setup/images/seal/pacnam").status_code == 404
    html = client.get("/setup/seal").get_data(as_text=True)
    resp = client.post("/setup/seal", data={"csrf_token": csrf_of(html), "action": "nonsense"})
    assert resp.status_code == 400 and "Thao tác không hợp lệ" in resp.get_data(as_text=True)

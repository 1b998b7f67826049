"""The filing rules that need no database (app/domain/filing.py, app/domain/postal.py): plain functions, no app."""
from __future__ import annotations

import pytest

from app.domain import filing
from app.domain.postal import postal_details, postal_tracking_at_return
from app.errors import Unprocessable

ADDRESS = "Số 12 đường Trường Chinh, phường Đức Xuân, thành phố Bắc Kạn"
GOOD = {"procedure": "2.000815", "document_type": "  Giấy khai sinh ", "copies": "2", "delivery": "post",
        "payment": "online", "declaration": "on"}


def refused(call, *args) -> tuple[str, str, str]:
    """(code, field, message) of the 422 a rule raises."""
    with pytest.raises(Unprocessable) as caught:
        call(*args)
    (field, message), = caught.value.details["fields"].items()
    assert caught.value.status == 422 and message == caught.value.message
    return caught.value.code, field, message


def test_good_choices_are_normalised():
    assert filing.filing_choices(GOOD, "commune", "UBND xã Giáo Hiệu") == filing.FilingChoices(
        procedure="2.000815", document_type="Giấy khai sinh", copies=2, delivery="post", payment="online")
    defaults = filing.filing_choices({"procedure": "2.000843", "document_type": "Hộ chiếu", "declaration": "true"},
                                     "district", "UBND huyện Pác Nặm")
    assert (defaults.copies, defaults.delivery, defaults.payment) == (1, "online", "counter")


@pytest.mark.parametrize("change, code, field, words", [
    ({"procedure": "9.999"}, "unknown_procedure", "procedure", "Không có thủ tục '9.999'"),
    ({"procedure": "2.000843"}, "procedure_not_offered", "procedure", "không thực hiện tại UBND xã"),
    ({"document_type": "   "}, "invalid_field", "document_type", "Cần nhập tên giấy tờ"),
    ({"document_type": "x" * 256}, "invalid_field", "document_type", "tối đa 255 ký tự"),
    ({"copies": "hai"}, "invalid_field", "copies", "phải là số nguyên"),
    ({"copies": ""}, "invalid_field", "copies", "phải là số nguyên"),
    ({"copies": "0"}, "invalid_field", "copies", "từ 1 đến 100"),
    ({"copies": "101"}, "invalid_field", "copies", "từ 1 đến 100"),
    ({"delivery": "fax"}, "invalid_field", "delivery", "Hình thức nhận kết quả không hợp lệ"),
    ({"payment": "cash"}, "invalid_field", "payment", "Hình thức thanh toán không hợp lệ"),
    ({"declaration": ""}, "declaration_required", "declaration", "cam đoan"),
    ({"declaration": "false"}, "declaration_required", "declaration", "cam đoan"),
])
def test_each_bad_field_is_named(change, code, field, words):
    got = refused(filing.filing_choices, {**GOOD, **change}, "commune", "UBND xã Giáo Hiệu")
    assert got[:2] == (code, field) and words in got[2]


def test_the_first_bad_field_in_form_order_is_reported():
    got = refused(filing.filing_choices, {**GOOD, "copies": "0", "payment": "cash", "declaration": ""}, "commune",
                  "UBND xã Giáo Hiệu")
    assert got[1] == "copies"


def test_walk_in_applicant():
    assert filing.walk_in_applicant({"citizen": " 001090012345 ", "email": "x@y.vn"}) == \
        filing.WalkInApplicant(citizen="001090012345")
    assert filing.walk_in_applicant({"email": " an@example.vn ", "applicant_name": " Trần Bình "}) == \
        filing.WalkInApplicant(email="an@example.vn", name="Trần Bình")
    assert filing.walk_in_applicant({"email": "an@example.vn"}).name is None
    assert refused(filing.walk_in_applicant, {})[:2] == ("invalid_field", "citizen")
    assert refused(filing.walk_in_applicant, {"email": "not an address"})[:2] == ("invalid_field", "email")
    assert refused(filing.walk_in_applicant, {"email": "a@b.vn", "applicant_name": "x" * 256})[1] == "applicant_name"
    assert filing.delivery_without_account("post") == "post"
    assert [filing.delivery_without_account(d) for d in ("online", "email")] == ["email", "email"]


def test_postal_details_rules():
    assert postal_details("post", {"postal_address": f"  {ADDRESS}  ", "postal_phone": "0912 345 678"}) == \
        (ADDRESS, "0912345678")
    assert postal_details("post", {"postal_address": ADDRESS, "postal_phone": "+84912345678"}) == \
        (ADDRESS, "+84912345678")
    assert postal_details("post", {"postal_address": ADDRESS}) == (ADDRESS, None)
    assert postal_details("online", {"postal_address": "   "}) == (None, None)
    assert refused(postal_details, "post", {})[1] == "postal_address"
    assert refused(postal_details, "post", {"postal_address": "ngắn"})[1] == "postal_address"
    assert refused(postal_details, "post", {"postal_address": "x" * 501})[1] == "postal_address"
    assert refused(postal_details, "post", {"postal_address": ADDRESS, "postal_phone": "12345"})[1] == "postal_phone"
    assert refused(postal_details, "email", {"postal_phone": "0912345678"})[1] == "postal_phone"
    assert refused(postal_details, "online", {"postal_address": ADDRESS})[1] == "postal_address"


def test_postal_tracking_at_return():
    assert postal_tracking_at_return("post", " VN123456789 ") == "VN123456789"
    assert postal_tracking_at_return("online", None) is None
    assert refused(postal_tracking_at_return, "post", "")[0] == "postal_tracking_required"
    assert refused(postal_tracking_at_return, "email", "VN123456789")[0] == "postal_tracking_not_allowed"

"""Domain rules as plain functions: fee, codes."""
from __future__ import annotations

from datetime import date

import pytest

from app.domain.codes import appointment_code, dossier_code
from app.domain.fees import fee_for, fee_per_copy


@pytest.mark.parametrize("pages,amount", [(1, 2000), (2, 4000), (3, 5000), (10, 12000), (198, 200000),
                                          (199, 200000), (500, 200000)])
def test_fee_per_copy(pages, amount):
    assert fee_per_copy(pages) == amount


def test_fee_times_copies_and_bad_input():
    assert fee_for(3, 2).amount_vnd == 10000
    with pytest.raises(ValueError):
        fee_for(0, 1)
    with pytest.raises(ValueError):
        fee_for(1, 0)


def test_codes():
    assert dossier_code("000.00.38.H03", date(2024, 5, 10), 6) == "000.00.38.H03-240510-0006"
    assert appointment_code(date(2020, 6, 30), 1) == "CTĐT-300620-0001"

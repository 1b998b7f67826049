"""The certification fee, Circular 226/2016/TT-BTC: 2,000 VND a page for pages 1-2, 1,000 VND a page from
page 3, at most 200,000 VND per copy; counted on the original's pages (not the attestation page)."""
from __future__ import annotations

from dataclasses import dataclass

FIRST_PAGES_RATE = 2_000
LATER_PAGES_RATE = 1_000
CAP_PER_COPY = 200_000


def fee_per_copy(pages: int) -> int:
    if pages < 1:
        raise ValueError("a document has at least one page")
    amount = FIRST_PAGES_RATE * min(pages, 2) + LATER_PAGES_RATE * max(pages - 2, 0)
    return min(amount, CAP_PER_COPY)


@dataclass(frozen=True)
class Fee:
    pages: int
    copies: int
    amount_vnd: int

    def as_dict(self) -> dict:
        return {"pages": self.pages, "copies": self.copies, "amount_vnd": self.amount_vnd}


def fee_for(pages: int, copies: int) -> Fee:
    if copies < 1:
        raise ValueError("at least one copy")
    return Fee(pages, copies, fee_per_copy(pages) * copies)

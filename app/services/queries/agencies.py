"""The agencies as people choose among them: the API's reference list, the portal's choices by level."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import aliased

from app.adapters.models import Agency
from app.domain.procedures import PROCEDURES
from app.services.queries.directory import agency_ref_matches
from app.services.unit_of_work import reading


@dataclass(frozen=True)
class AgencyChoice:
    code: str
    slug: str
    name: str
    level: str
    parent_code: str | None
    parent_name: str | None

    @property
    def label(self) -> str:
        """The name a citizen recognises: a commune or district office with the body above it."""
        return f"{self.name} ({self.parent_name})" if self.parent_name else self.name

    def procedures(self) -> list[tuple[str, str]]:
        """(code, name) of the procedures offered at this agency's level."""
        return [(code, p["name"]) for code, p in PROCEDURES.items() if self.level in p["levels"]]

    def as_dict(self) -> dict:
        """GET /agencies: {"code", "slug", "name", "level", "parent"}."""
        return {"code": self.code, "slug": self.slug, "name": self.name, "level": self.level,
                "parent": self.parent_code}


def _choices(system, *conditions) -> list[AgencyChoice]:
    parent = aliased(Agency)
    query = (select(Agency.code, Agency.slug, Agency.name, Agency.level, parent.code, parent.name)
             .outerjoin(parent, Agency.parent_id == parent.id).where(*conditions).order_by(Agency.id))
    with reading(system) as session:
        return [AgencyChoice(*row) for row in session.execute(query)]


def agency_choices(system, level: str | None = None) -> list[AgencyChoice]:
    """Every agency (of one `level`, if given) in the order they were created."""
    return _choices(system, *([Agency.level == level] if level else []))


def agency_choice(system, ref: str | None) -> AgencyChoice | None:
    """The agency whose code or slug is `ref`, or None."""
    if not ref:
        return None
    found = _choices(system, agency_ref_matches(ref))
    return found[0] if found else None

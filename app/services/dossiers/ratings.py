"""Satisfaction rating (đánh giá mức độ hài lòng): the owner rates a returned dossier once, 1–5 stars."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import clock
from app.errors import Conflict, NotFound, Unprocessable
from app.adapters.models import Dossier, Rating, User
from app.services.queries.dossiers import visible_dossier
from app.services.unit_of_work import reading, unit_of_work

MAX_COMMENT = 2000
STAR_NAMES = {1: "Rất không hài lòng", 2: "Không hài lòng", 3: "Bình thường", 4: "Hài lòng", 5: "Rất hài lòng"}


def _invalid(field: str, message: str) -> Unprocessable:
    return Unprocessable(message, code="invalid_field", details={"fields": {field: message}})


def parse_stars(value: object) -> int:
    try:
        stars = int(str(value))
    except (TypeError, ValueError):
        raise _invalid("stars", "Mức độ hài lòng phải là số từ 1 đến 5.") from None
    if not 1 <= stars <= 5:
        raise _invalid("stars", "Mức độ hài lòng phải là số từ 1 đến 5.")
    return stars


def rate_dossier(system, user: User, code: str, stars: object, comment: object = None) -> Rating:
    stars = parse_stars(stars)
    comment = str(comment or "").strip() or None
    if comment and len(comment) > MAX_COMMENT:
        raise _invalid("comment", f"Ý kiến tối đa {MAX_COMMENT} ký tự.")
    try:
        with unit_of_work(system) as session:
            dossier = session.scalar(select(Dossier).where(Dossier.code == code))
            if dossier is None or dossier.applicant_id != user.id:
                raise NotFound("Không có hồ sơ này.", code="unknown_dossier")
            if dossier.status != "returned":
                raise Conflict("Chỉ đánh giá được hồ sơ đã trả kết quả.", code="not_returned")
            if session.scalar(select(Rating.id).where(Rating.dossier_id == dossier.id)) is not None:
                raise Conflict("Bạn đã đánh giá hồ sơ này.", code="already_rated")
            rating = Rating(dossier_id=dossier.id, user_id=user.id, stars=stars, comment=comment,
                            created_at=clock.now())
            session.add(rating)
    except IntegrityError:
        raise Conflict("Bạn đã đánh giá hồ sơ này.", code="already_rated") from None
    return rating


def rating_of(session, dossier: Dossier) -> Rating | None:
    return session.scalar(select(Rating).where(Rating.dossier_id == dossier.id))


def rating_view(rating: Rating) -> dict:
    return {"stars": rating.stars, "label": STAR_NAMES[rating.stars], "comment": rating.comment,
            "created_at": rating.created_at.isoformat()}


def rating_for_viewer(system, user: User, code: str) -> dict:
    """A dossier's rating, for those who may see the dossier (owner, the agency's staff, auditors)."""
    with reading(system) as session:
        rating = rating_of(session, visible_dossier(session, user, code))
        if rating is None:
            raise NotFound("Hồ sơ chưa được đánh giá.", code="no_rating")
        return rating_view(rating)

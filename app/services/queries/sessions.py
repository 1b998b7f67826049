"""Who is signed in: the user a page session or an API token names, while that sign-in still holds."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.adapters.models import User
from app.services.unit_of_work import reading


def signed_in_user(system, user_id: object, generation: object) -> User | None:
    """The active user `user_id` whose sign-ins are of `generation` (a password reset or deactivation moves the
    generation on and so ends every earlier sign-in); None otherwise. Agency and roles come loaded."""
    if user_id is None:
        return None
    with reading(system) as session:
        user = session.scalar(select(User).options(joinedload(User.agency)).where(User.id == user_id))
        if user is None or not user.active or user.token_generation != generation:
            return None
        return user

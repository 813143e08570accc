"""The municipality's neighbourhoods: the list apps offer when someone signs up, a shop
applies or a job is posted, so that "Grasbroek" is never also "grasbroek " or "Grasbroeck"
(jobs are found by their neighbourhood's exact name).

With HEITJE_API_NEIGHBOURHOODS set (comma-separated) only those names are accepted, in any
capitals, and stored as written there. Without it any name is accepted, and the list is the
names in use."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select, union

from api.deps import SessionDep, SettingsDep
from api.errors import ApiError
from api.models import Job, Merchant, Resident
from api.schemas import example
from api.settings import Settings

router = APIRouter(tags=["neighbourhoods"])


class Neighbourhoods(BaseModel):
    model_config = example(
        {"names": ["Grasbroek", "Meezenbroek", "Musschemig", "Schandelen"], "fixed": True}
    )
    names: list[str] = Field(description="sorted by name")
    fixed: bool = Field(description="true: only these are accepted; false: the names in use")


@router.get("/neighbourhoods", response_model=Neighbourhoods)
def neighbourhoods(settings: SettingsDep, session: SessionDep) -> Neighbourhoods:
    """The neighbourhoods to choose from (no sign-in needed: the sign-up page asks)."""
    if settings.neighbourhoods:
        return Neighbourhoods(names=sorted(settings.neighbourhoods, key=str.casefold), fixed=True)
    used = session.scalars(
        union(
            select(Resident.neighbourhood), select(Merchant.neighbourhood),
            select(Job.neighbourhood),
        )
    )  # fmt: skip
    return Neighbourhoods(names=sorted(set(used), key=str.casefold), fixed=False)


def neighbourhood(settings: Settings, name: str) -> str:
    """`name` as the municipality writes it; a name not on its list is refused (422)."""
    if not settings.neighbourhoods:
        return name
    for known in settings.neighbourhoods:
        if known.casefold() == name.strip().casefold():
            return known
    raise ApiError(
        422,
        "unknown_neighbourhood",
        f"{name!r} is not one of the municipality's neighbourhoods: choose one of "
        + ", ".join(sorted(settings.neighbourhoods, key=str.casefold)),
        {"neighbourhoods": sorted(settings.neighbourhoods, key=str.casefold)},
    )

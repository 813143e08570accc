"""The web app's public settings: the municipality's name and colour (api.brand)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SettingsDep
from api.schemas import AppConfig

router = APIRouter(tags=["web app"])


@router.get("/config", response_model=AppConfig)
def config(settings: SettingsDep) -> AppConfig:
    """The municipality's name and brand colour (with the text colour on it), and whether
    the app offers to stay signed in. Public: the sign-in page shows them."""
    return AppConfig(
        municipality=settings.brand.municipality,
        brand_colour=settings.brand.colour,
        brand_text_colour="#ffffff",
        remember_days=settings.device_session_days,
    )

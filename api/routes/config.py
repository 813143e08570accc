"""The web app's public settings: the municipality's name and colour (api.brand)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import SettingsDep
from api.errors import ApiError
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
        logo_url="/config/logo" if settings.brand.logo else None,
    )


#: An SVG opened on its own could run scripts: it is sent sandboxed, without any.
LOGO_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


@router.get("/config/logo", response_class=Response)
def logo(settings: SettingsDep) -> Response:
    """The municipality's logo (HEITJE_API_BRAND_LOGO), when it has one."""
    found = settings.brand.logo
    if found is None:
        raise ApiError(404, "no_logo", "this municipality has no logo set")
    return Response(
        found.data,
        media_type=found.content_type,
        headers={
            "Content-Security-Policy": LOGO_POLICY,
            "Cache-Control": "public, max-age=3600",
            "X-Content-Type-Options": "nosniff",
        },
    )

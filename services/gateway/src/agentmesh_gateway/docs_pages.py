"""/docs and /redoc, served by the gateway itself: no CDN.

Swagger UI's assets come from the `swagger-ui-bundle` package when it is
installed (its `swagger_ui_path`), ReDoc's from the same folder when it holds
`redoc.standalone.js`. Without them, both paths serve a small self-contained API
reference built from /openapi.json (no external script, style or font), so the
docs still work on a machine with no internet.
"""

from __future__ import annotations

import html
import importlib
import json
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PATH = "/docs/assets"


def swagger_assets() -> Path | None:
    """The folder with swagger-ui-bundle.js and swagger-ui.css, if a package ships one."""
    try:
        bundle = importlib.import_module("swagger_ui_bundle")
    except ImportError:
        return None
    folder = Path(getattr(bundle, "swagger_ui_path", ""))
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def install_docs(app: FastAPI, assets: Path | None = None) -> None:
    """Add /docs, /docs/oauth2-redirect and /redoc (hidden from the document itself)."""
    assets = assets if assets is not None else swagger_assets()
    title = f"{app.title} API"
    openapi_url = app.openapi_url or "/openapi.json"
    if assets is not None:
        app.mount(ASSETS_PATH, StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        if assets is None:
            return HTMLResponse(reference_page(title, openapi_url))
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
            oauth2_redirect_url="/docs/oauth2-redirect",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        if assets is None or not (assets / "redoc.standalone.js").is_file():
            return HTMLResponse(reference_page(title, openapi_url))
        return get_redoc_html(
            openapi_url=openapi_url,
            title=title,
            redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
            with_google_fonts=False,
        )


_PAGE = Path(__file__).parent / "static" / "reference.html"


def reference_page(title: str, openapi_url: str) -> str:
    """The self-contained fallback page (static/reference.html, filled in)."""
    page = _PAGE.read_text()
    for name, value in (("__TITLE__", html.escape(title)), ("__OPENAPI_URL__", html.escape(openapi_url)),
                        ("__OPENAPI_JSON__", json.dumps(openapi_url))):  # fmt: skip
        page = page.replace(name, value)
    return page

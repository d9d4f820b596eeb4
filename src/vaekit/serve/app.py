"""The explorer's web app (Starlette): one HTML page and a small JSON API.

GET  /                 the page (plain HTML and JavaScript, nothing loaded from elsewhere)
GET  /api/info         model, data kind, slider dims and ranges, starting z
GET  /api/examples     the test images offered for interpolation
POST /api/decode       {"z": [...]} -> the decoded image (or table row)
POST /api/interpolate  {"start": i, "end": j} -> linear and spherical paths
POST /api/upload       the raw bytes of an image file -> reconstruction, NLL, compressed size

Errors are JSON {"error": "<one line>"} with status 400 (bad input), 413 (upload too large)
or 415 (an upload that is not an image). Model work runs in Starlette's thread pool, so the
event loop keeps serving while a request computes; the Explorer's lock orders model calls.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from vaekit.errors import ConfigError, DataError, VaekitError
from vaekit.serve.explorer import Explorer

DEFAULT_MAX_UPLOAD_BYTES = 5 * 2**20
MAX_JSON_BYTES = 64 * 2**10


class BodyTooLargeError(Exception):
    """A request body beyond its cap."""


def starlette_modules() -> tuple[Any, ...]:
    """(Starlette, Route, JSONResponse, HTMLResponse, run_in_threadpool); ConfigError naming
    the extra to install when Starlette is missing."""
    try:
        from starlette.applications import Starlette
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import HTMLResponse, JSONResponse
        from starlette.routing import Route
    except ImportError:
        raise ConfigError(
            "the explorer needs starlette and uvicorn: pip install 'vaekit[serve]'"
        ) from None
    return Starlette, Route, JSONResponse, HTMLResponse, run_in_threadpool


def page_html() -> str:
    return resources.files("vaekit.serve").joinpath("page.html").read_text(encoding="utf-8")


async def read_body(request, limit: int) -> bytes:
    """The request body, refused (BodyTooLargeError) as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(explorer: Explorer, *, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES):
    """The Starlette app serving `explorer`."""
    Starlette, Route, JSONResponse, HTMLResponse, run_in_threadpool = starlette_modules()
    page = page_html()

    def error(message: str, status: int = 400):
        return JSONResponse({"error": message}, status_code=status)

    async def answer(function, *args, data_status: int = 400):
        """function(*args) in the thread pool; a DataError answers data_status, any other
        vaekit error 400."""
        try:
            return JSONResponse(await run_in_threadpool(function, *args))
        except DataError as err:
            return error(str(err), data_status)
        except VaekitError as err:
            return error(str(err))

    async def json_body(request) -> dict:
        try:
            payload = json.loads(await read_body(request, MAX_JSON_BYTES))
        except (ValueError, UnicodeDecodeError):
            raise ConfigError("the request body must be a JSON object") from None
        if not isinstance(payload, dict):
            raise ConfigError("the request body must be a JSON object")
        return payload

    async def index(request):
        return HTMLResponse(page)

    async def info(request):
        return JSONResponse(explorer.info())

    async def examples(request):
        return await answer(explorer.example_images)

    async def decode(request):
        try:
            payload = await json_body(request)
        except (VaekitError, BodyTooLargeError) as err:
            return error(str(err) or "the request body is too large")
        return await answer(explorer.decode, payload.get("z"))

    async def interpolate(request):
        try:
            payload = await json_body(request)
        except (VaekitError, BodyTooLargeError) as err:
            return error(str(err) or "the request body is too large")
        return await answer(explorer.interpolate, payload.get("start"), payload.get("end"))

    async def upload(request):
        try:
            raw = await read_body(request, max_upload_bytes)
        except BodyTooLargeError:
            return error(f"the upload is larger than the limit of {max_upload_bytes} bytes", 413)
        if not raw:
            return error("the upload is empty: choose an image file")
        return await answer(explorer.upload, raw, data_status=415)

    return Starlette(
        routes=[
            Route("/", index),
            Route("/api/info", info),
            Route("/api/examples", examples),
            Route("/api/decode", decode, methods=["POST"]),
            Route("/api/interpolate", interpolate, methods=["POST"]),
            Route("/api/upload", upload, methods=["POST"]),
        ]
    )

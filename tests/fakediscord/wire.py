"""HTTP plumbing shared by the REST handlers: exact JSON responses, API errors, body parsing.

discord.py only parses a body as JSON when ``Content-Type`` is exactly ``application/json``
(no charset), so every response goes through :func:`json_response`.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

FileMap = dict[int, tuple[str, bytes, str]]


class ApiError(Exception):
    """Raised by handlers; rendered as Discord's ``{"code", "message"}`` error body."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message = status, code, message


def unknown(what: str, code: int) -> ApiError:
    """404 for an unknown object (e.g. ``unknown("Channel", 10003)``)."""
    return ApiError(404, code, f"Unknown {what}")


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A response with ``Content-Type: application/json`` exactly; ``None`` gives 204."""
    if data is None and status in (200, 204):
        return web.Response(status=204, headers=headers)
    body = json.dumps(data).encode()
    return web.Response(
        status=status, body=body, headers={**(headers or {}), "Content-Type": "application/json"}
    )


def error_response(err: ApiError) -> web.Response:
    return json_response({"code": err.code, "message": err.message}, err.status)


async def read_body(request: web.Request) -> tuple[Any, FileMap]:
    """JSON body, or multipart ``payload_json`` + ``files[n]`` (as discord.py sends files)."""
    files: FileMap = {}
    if request.content_type.startswith("multipart/"):
        payload: Any = {}
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            name = part.name or ""  # type: ignore[union-attr]
            data = await part.read()  # type: ignore[union-attr]
            if name == "payload_json":
                payload = json.loads(data)
            elif name.startswith("files[") or name.startswith("file"):
                index = int(name[6:-1]) if name.startswith("files[") else len(files)
                ctype = part.headers.get("Content-Type", "application/octet-stream")  # type: ignore[union-attr]
                files[index] = (part.filename or f"file{index}", bytes(data), ctype)  # type: ignore[union-attr]
        return payload, files
    raw = await request.read()
    if not raw:
        return {}, files
    try:
        return json.loads(raw), files
    except ValueError as exc:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from exc

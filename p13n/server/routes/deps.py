"""Dependencies shared by routes."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response

from p13n.domain.services import Engine

__all__ = ["get_engine", "json_response"]


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def json_response(data: Any, status_code: int = 200) -> Response:
    """A JSON response serialized by orjson, for routes that choose their own status code."""
    return Response(orjson.dumps(data), status_code=status_code, media_type="application/json")

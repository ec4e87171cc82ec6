"""API Gateway events as Lambda receives them (the shapes of AWS's documented examples), for
the tests, the benchmark and the build's warm-up run.

``http_api_event``: an HTTP API, payload format 2.0; ``rest_api_event``: a REST API's proxy
integration, format 1.0. Both carry a binary body base64-encoded, as API Gateway does.
Standard library only: serverless/gateway.py builds its events with it inside the package's
environment.
"""

from __future__ import annotations

import base64
import json
from typing import Any

SOURCE_IP = "127.0.0.1"
ACCOUNT = "123456789012"


def _body(body: bytes | str | None, base64_encoded: bool) -> tuple[str | None, bool]:
    if body is None:
        return None, False
    if base64_encoded:
        raw = body.encode() if isinstance(body, str) else body
        return base64.b64encode(raw).decode(), True
    return (body.decode("utf-8", "replace") if isinstance(body, bytes) else body), False


def http_api_event(method: str, path: str, body: bytes | str | None = None,
                   headers: dict[str, str] | None = None, base64_encoded: bool = False, *,
                   query: str = "", source_ip: str = SOURCE_IP,
                   route_key: str | None = None) -> dict[str, Any]:
    """``route_key``: the route that matched (default: the method and the path itself)."""
    text, encoded = _body(body, base64_encoded)
    route_key = route_key or f"{method} {path}"
    headers = {"host": "abc123.execute-api.eu-west-1.amazonaws.com", "user-agent": "curl/8.5",
               **{k.lower(): v for k, v in (headers or {}).items()}}
    event = {
        "version": "2.0", "routeKey": route_key, "rawPath": path,
        "rawQueryString": query, "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT, "apiId": "abc123", "stage": "$default",
            "domainName": headers["host"], "domainPrefix": "abc123",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": source_ip, "userAgent": headers["user-agent"]},
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "routeKey": route_key,
            "time": "01/Dec/2026:18:00:00 +0000", "timeEpoch": 1796148000000,
        },
        "isBase64Encoded": encoded,
    }
    if text is not None:
        event["body"] = text
    return event


def rest_api_event(method: str, path: str, body: bytes | str | None = None,
                   headers: dict[str, str] | None = None,
                   base64_encoded: bool = False) -> dict[str, Any]:
    text, encoded = _body(body, base64_encoded)
    headers = {"Host": "abc123.execute-api.eu-west-1.amazonaws.com", "User-Agent": "curl/8.5",
               "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443", **(headers or {})}
    return {
        "resource": path, "path": path, "httpMethod": method,
        "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": None, "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT, "apiId": "abc123", "stage": "prod", "httpMethod": method,
            "path": f"/prod{path}", "resourcePath": path, "protocol": "HTTP/1.1",
            "identity": {"sourceIp": SOURCE_IP, "userAgent": headers["User-Agent"]},
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        },
        "body": text, "isBase64Encoded": encoded,
    }


EVENT_SHAPES = {"http-api-v2": http_api_event, "rest-api-v1": rest_api_event}


def answer(response: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    """Status, lower-cased headers and the JSON body of a Lambda proxy response."""
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers[key.lower()] = ", ".join(values)
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return response["statusCode"], headers, json.loads(body) if body else None

"""The API's error type: every refusal is a 4xx with a JSON body ``{"error": {code, message}}``."""

from __future__ import annotations


class ApiError(Exception):
    """An error the client caused (or must wait out), with its HTTP status and a stable code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def to_json(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


def bad_request(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


def unsupported(code: str, message: str) -> ApiError:
    return ApiError(415, code, message)


def too_large(code: str, message: str) -> ApiError:
    return ApiError(413, code, message)


def unprocessable(code: str, message: str) -> ApiError:
    return ApiError(422, code, message)

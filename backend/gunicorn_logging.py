"""A gunicorn logger whose access lines cost microseconds, not a third of a request."""

from __future__ import annotations

from gunicorn.glogging import Logger


class LeanAccessLogger(Logger):
    """Access lines with the fields we use: client, request line, status, bytes, duration.

    gunicorn's own access() builds a dict of every request header, response header and
    environ entry, and formats a timestamp, for each request: about 0.4 ms of a ~2 ms
    prediction on a small VM. Request bodies (drawings) are never logged either way.
    """

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        milliseconds = request_time.seconds * 1000 + request_time.microseconds / 1000
        self.access_log.info(
            '%s "%s %s %s" %s %s %.1fms',
            environ.get("REMOTE_ADDR", "-"), environ["REQUEST_METHOD"], environ["RAW_URI"],
            environ["SERVER_PROTOCOL"], status, getattr(resp, "sent", None) or "-",
            milliseconds,
        )

"""Lambda entry point (handler ``backend.lambda_function.handler``), as wsgi.py is gunicorn's.

Built at import, so the model loads in Lambda's init phase rather than in the first request.
"""

from backend.serverless import build_handler

handler = build_handler()

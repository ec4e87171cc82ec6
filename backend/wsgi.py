"""gunicorn entry point: ``gunicorn -c backend/gunicorn.conf.py backend.wsgi:app``."""

from backend.app import create_app

app = create_app()

"""Backend tier: the Flask prediction service (served by gunicorn on port 5000)."""

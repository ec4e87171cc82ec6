"""Visitors' corrections of wrong readings: stored in a database, reviewed, exported as an npz
that the next training run takes (``python -m training --corrections``).

    store.py        the table, the engine (one per process), the operations
    migrate.py      Alembic migrations (migrations/): `python -m backend.feedback migrate`
    api.py          POST /feedback, DELETE /feedback/<id> (the page's undo)
    admin.py        the optional review page (FEEDBACK_ADMIN_TOKEN)
    review.py       the review CLI: list, show, accept, reject, export
"""

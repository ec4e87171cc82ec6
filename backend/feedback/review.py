"""Review the visitors' corrections: ``python -m backend.feedback <command>``.

    migrate                    bring the database to this code's schema
    list [--status S] [-n N] [--thumbnails]
                               the most recent answers (with a terminal picture of each)
    show ID                    one answer and its 28x28 image
    accept ID... / reject ID...
    export OUT.npz [--include-new] [--holdout 0.2]
                               accepted corrections as an npz for `python -m training
                               --corrections OUT.npz` (unreviewed ones too with --include-new)

The database is the backend's: FEEDBACK_DATABASE_URL (and FEEDBACK_DATABASE_PASSWORD_FILE).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from backend.config import settings_from_env
from backend.feedback import migrate
from backend.feedback.export import export_npz
from backend.feedback.store import STATUSES, Correction, FeedbackStore, database_url


def picture(correction: Correction) -> str:
    """The 28x28 image in 14 lines of half blocks (two pixel rows per character)."""
    shades = correction.pixels >= 96
    lines = []
    for top, bottom in zip(shades[0::2], shades[1::2], strict=True):
        lines.append("".join("█" if a and b else "▀" if a else "▄" if b else " "
                             for a, b in zip(top, bottom, strict=True)))
    return "\n".join(lines)


def describe(correction: Correction) -> str:
    read = "none" if correction.predicted is None else str(correction.predicted)
    said = f"{correction.corrected}" + (" (right)" if correction.is_confirmation else "")
    when = correction.created_at.isoformat(timespec="seconds") if correction.created_at else ""
    return (f"{correction.id}  {when}  read {read:>4}  said {said:<9}  "
            f"version {correction.model_version}  {correction.mode:<6}  {correction.status}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m backend.feedback", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate")
    listing = commands.add_parser("list")
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("-n", "--limit", type=int, default=20)
    listing.add_argument("--thumbnails", action="store_true")
    commands.add_parser("show").add_argument("id")
    for name in ("accept", "reject"):
        commands.add_parser(name).add_argument("ids", nargs="+")
    export = commands.add_parser("export")
    export.add_argument("out", type=Path)
    export.add_argument("--include-new", action="store_true",
                        help="also export answers nobody has reviewed yet")
    export.add_argument("--holdout", type=float, default=0.2,
                        help="share held out from training, by id (default 0.2)")
    return parser.parse_args(argv)


def open_store() -> FeedbackStore:
    settings = settings_from_env()
    if settings["FEEDBACK_DATABASE_URL"] == "off":
        raise SystemExit("FEEDBACK_DATABASE_URL is off: there is no feedback database")
    return FeedbackStore(database_url(settings["FEEDBACK_DATABASE_URL"],
                                      settings["FEEDBACK_DATABASE_PASSWORD_FILE"]))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    store = open_store()
    try:
        return run(args, store)
    except SQLAlchemyError as exc:
        print(f"error: the feedback database: {exc}", file=sys.stderr)
        return 1


def run(args: argparse.Namespace, store: FeedbackStore) -> int:
    if args.command == "migrate":
        migrate.upgrade(store)
        print(f"feedback database at revision {migrate.current_revision(store)}")
    elif args.command == "list":
        for correction in store.recent(args.limit, args.status):
            print(describe(correction))
            if args.thumbnails:
                print(picture(correction))
    elif args.command == "show":
        correction = store.get(args.id)
        if correction is None:
            print(f"error: no feedback with id {args.id}", file=sys.stderr)
            return 1
        print(describe(correction))
        print(picture(correction))
    elif args.command in ("accept", "reject"):
        changed = store.set_status(args.ids, "accepted" if args.command == "accept"
                                   else "rejected")
        print(f"{args.command}ed {changed} of {len(args.ids)}")
        return 0 if changed == len(args.ids) else 1
    elif args.command == "export":
        counts = export_npz(store.for_training(args.include_new), args.out, args.holdout)
        print(f"exported {counts['train']} to learn from and {counts['test']} held out "
              f"to {args.out}")
    return 0

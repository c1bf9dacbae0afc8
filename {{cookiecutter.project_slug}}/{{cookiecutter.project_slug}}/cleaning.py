"""Keep the store and the catalogue in step: import old records, remove unrecorded bytes.

Bytes are committed before their record is inserted, and a record is
deleted before its bytes (``receiving.py``, ``catalogue.py``), so a crash
between the two steps can only leave bytes that no record names. Cleaning
removes those, but only once they are older than ``uploads.clean_after``
(default 24 h): younger ones may belong to an upload another process is
just recording. With S3, multipart uploads as old are aborted too (those of
a process killed mid-upload that never came back).

The command also removes resumable (tus) uploads past their expiry,
with their bytes (``resumable.py``, which does the same at start-up).

It runs at start-up (:func:`includeme`) and as a command::

    <project>-clean development.ini [--dry-run]

Projects made before the catalogue kept each file's record beside it as
``<id>.json``; at start-up (and before the command cleans) those records
are imported into the catalogue once, and their JSON files removed.
"""

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import transaction
from pyramid.config import Configurator
from pyramid.paster import get_appsettings, setup_logging
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from . import catalogue
from .models import (
    SchemaNotReady,
    StoredFile,
    UploadInProgress,
    check_schema,
    get_engine,
    get_session_factory,
    get_tm_session,
)
from .resumable import Resumable
from .settings import SettingsError, load
from .storage import KEY_PATTERN, AbortsStale, Storage, StoredKey, from_settings, supports_resumable
from .storage.local import LocalStorage

log = logging.getLogger(__name__)

BATCH = 500


def import_json_records(storage: Storage, factory: sessionmaker[Session]) -> int:
    """Import the ``<id>.json`` records of the local layout before the catalogue; how many were new."""
    if not isinstance(storage, LocalStorage):
        return 0
    imported = 0
    for path in sorted(storage.storage_path.glob("*.json")):
        file_id = path.stem
        if not KEY_PATTERN.fullmatch(file_id):
            continue
        with transaction.manager:
            dbsession = get_tm_session(factory, transaction.manager)
            if (storage.storage_path / file_id).exists() and dbsession.get(StoredFile, file_id) is None:
                meta = json.loads(path.read_text(encoding="utf-8"))
                record = StoredFile(
                    id=file_id,
                    storage_key=file_id,
                    filename=meta["filename"],
                    original_filename=meta["original_filename"],
                    size=int(meta["size"]),
                    sha256=meta["sha256"],
                    content_type=meta["content_type"],
                    created=datetime.fromisoformat(meta["created"]),
                )
                dbsession.add(record)
                dbsession.flush()
                catalogue.count(dbsession, 1, record.size)
                imported += 1
        path.unlink()  # the record is committed (or the data was already gone)
    if imported:
        log.info("imported %d records from %s into the catalogue", imported, storage.storage_path)
    return imported


def unrecorded(storage: Storage, factory: sessionmaker[Session], older_than: float) -> Iterator[StoredKey]:
    """Keys older than ``older_than`` seconds that no record names.

    An upload in progress names its key too: a completion that committed the
    bytes but failed to record them keeps them there for the next attempt
    (``resumable.py``).
    """
    old = (
        stored for stored in storage.list_keys() if stored.age >= older_than and not _awaits_import(storage, stored.key)
    )
    while batch := [stored for _, stored in zip(range(BATCH), old, strict=False)]:
        with transaction.manager:
            dbsession = get_tm_session(factory, transaction.manager)
            names = [stored.key for stored in batch]
            recorded = set(dbsession.scalars(select(StoredFile.storage_key).where(StoredFile.storage_key.in_(names))))
            recorded.update(
                dbsession.scalars(select(UploadInProgress.storage_key).where(UploadInProgress.storage_key.in_(names)))
            )
        yield from (stored for stored in batch if stored.key not in recorded)


def _awaits_import(storage: Storage, key: str) -> bool:
    """Whether ``key`` still has its record in the old ``<id>.json`` layout (never clean those)."""
    return isinstance(storage, LocalStorage) and (storage.storage_path / f"{key}.json").exists()


def clean(
    storage: Storage, factory: sessionmaker[Session], older_than: float, *, report: Callable[[str], None] | None = None
) -> list[str]:
    """Remove unrecorded bytes older than ``older_than`` seconds; the keys removed.

    Backends whose staged bytes outlive a killed process (S3's multipart
    uploads) have those aborted too, once as old; they are not counted.
    """
    if isinstance(storage, AbortsStale):
        for key in storage.abort_stale(older_than):
            log.info("aborted the unfinished upload of %s", key)
    removed = []
    for stored in list(unrecorded(storage, factory, older_than)):
        storage.delete(stored.key)
        removed.append(stored.key)
        if report is not None:
            report(stored.key)
    return removed


def includeme(config: Configurator) -> None:
    """At start-up: import old records, then clean (after ``.models`` and ``.storage``)."""
    storage = config.registry["storage"]
    factory = config.registry["dbsession_factory"]
    import_json_records(storage, factory)
    removed = clean(storage, factory, config.registry["upload_settings"].clean_after)
    if removed:
        log.info("removed %d stored files without a record", len(removed))


def main(argv: list[str] | None = None) -> int:
    """``<project>-clean INI [--dry-run]``: remove unrecorded bytes older than ``uploads.clean_after``."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("config_uri", help="the ini file, e.g. development.ini")
    parser.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
    args = parser.parse_args(argv)
    setup_logging(args.config_uri)
    settings = get_appsettings(args.config_uri)
    try:
        upload_settings = load(settings, Path(args.config_uri).resolve().parent)
        storage = from_settings(settings, upload_settings)
        engine = get_engine(settings)
        check_schema(engine)
    except (SettingsError, SchemaNotReady) as error:
        print(error, file=sys.stderr)
        return 2
    factory = get_session_factory(engine)
    if args.dry_run:
        keys = [stored.key for stored in unrecorded(storage, factory, upload_settings.clean_after)]
        for key in keys:
            print(f"would remove {key}")
        print(f"{len(keys)} unrecorded files older than {upload_settings.clean_after:.0f} s would be removed")
        return 0
    import_json_records(storage, factory)
    removed = clean(storage, factory, upload_settings.clean_after, report=lambda key: print(f"removed {key}"))
    print(f"removed {len(removed)} unrecorded files older than {upload_settings.clean_after:.0f} s")
    if supports_resumable(storage):
        resumable = Resumable(storage, factory, upload_settings)
        expired = resumable.expire()
        orphans = resumable.orphans(upload_settings.clean_after)
        print(f"removed {len(expired)} expired uploads in progress and {len(orphans)} without a record")
    return 0


if __name__ == "__main__":
    sys.exit(main())

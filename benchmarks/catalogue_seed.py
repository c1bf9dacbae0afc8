"""Seed a baked project's catalogue with small stored files, through the project's own code.

Run with the project's Python: ``catalogue_seed.py INI COUNT``. Each file
goes the way an upload's does after the body is parsed: a random key,
``receiving.Measured`` counting and hashing the chunks, ``storage.stage``
then ``storage.commit``, a ``StoredFile`` record, and ``catalogue.add`` in a
transaction (1,000 records a transaction). Only the HTTP and multipart
parsing are left out, so 100,000 files take a minute rather than an hour.
"""

import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import transaction
from pyramid.paster import get_appsettings
from upload_service import catalogue
from upload_service.models import StoredFile, get_engine, get_session_factory, get_tm_session
from upload_service.receiving import Measured
from upload_service.settings import load
from upload_service.storage import from_settings

BATCH = 1000


def main() -> None:
    ini, count = sys.argv[1], int(sys.argv[2])
    settings = get_appsettings(ini)
    upload_settings = load(settings, Path(ini).resolve().parent)
    storage = from_settings(settings, upload_settings)
    storage.recover()
    factory = get_session_factory(get_engine(settings))
    started = time.monotonic()
    for first in range(0, count, BATCH):
        records = []
        for number in range(first, min(count, first + BATCH)):
            key = secrets.token_hex(16)
            measured = Measured([f"file number {number}\n".encode()])
            storage.commit(storage.stage(key, measured))
            records.append(
                StoredFile(
                    id=key,
                    storage_key=key,
                    filename=f"file-{number:06d}.txt",
                    original_filename=f"file-{number:06d}.txt",
                    size=measured.size,
                    sha256=measured.sha256(),
                    content_type="text/plain",
                    created=datetime.now(UTC),
                )
            )
        with transaction.manager:
            catalogue.add(get_tm_session(factory, transaction.manager), storage, records)
    print(f"seeded {count} files in {time.monotonic() - started:.1f} s", flush=True)


if __name__ == "__main__":
    main()

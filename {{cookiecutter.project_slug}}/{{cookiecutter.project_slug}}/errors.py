"""The ways an upload request can be refused, each with its HTTP status.

Every module below the views raises one of these with a message written for
people; the error view turns it into ``{"error": message}`` for JSON clients
or the upload page with the message for browsers. Keeping the status next to
the reason means no view has to guess which code a failure deserves.
"""


class UploadRejected(Exception):
    """A request we refuse on purpose; ``str(error)`` is the message shown."""

    status_code = 400


class BadRequest(UploadRejected):
    """Malformed multipart, a missing part, a missing or wrong CSRF token."""

    status_code = 400


class TooLarge(UploadRejected):
    """The body, a field or a header went past a configured limit."""

    status_code = 413


class UnsupportedType(UploadRejected):
    """Not ``multipart/form-data``, or a file whose type or extension is refused."""

    status_code = 415


class OutOfSpace(UploadRejected):
    """The disk (or quota) holding the storage paths is full."""

    status_code = 507


class StorageFailed(UploadRejected):
    """Any other I/O error while storing: the server's fault, not the client's."""

    status_code = 500


class StoreUnavailable(UploadRejected):
    """The file store (an S3 endpoint) is down or refuses: try again later; nothing was kept."""

    status_code = 503

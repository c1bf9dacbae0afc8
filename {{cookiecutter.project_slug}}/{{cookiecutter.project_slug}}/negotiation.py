"""Choose between the page and JSON from the ``Accept`` header (RFC 9110 section 12.5.1).

WebOb parses the header; the choice is ours. Each offer gets the q-value of
the most specific media range that matches it (``application/json`` before
``application/*`` before ``*/*``). The higher q-value wins; at equal q-values
the offer matched by the more specific range wins, so a client that names
JSON outright gets it even when its header also ends in ``*/*``, as axios's
``application/json, text/plain, */*`` does. When nothing tells them apart
(no header, an invalid one, ``*/*`` alone as curl, requests and ``fetch()``
send) the first offer, the server's own preference, wins.
"""

from collections.abc import Sequence

from webob.acceptparse import create_accept_header

# How specific a media range is: ``*/*``, ``type/*``, ``type/subtype``, and
# ``type/subtype;param=value`` (RFC 9110 section 12.5.1's ``text/plain;format=flowed``).
_ANY, _TYPE, _EXACT, _WITH_PARAMETERS = 1, 2, 3, 4


def preferred_offer(accept: str | None, offers: Sequence[str]) -> str:
    """The offer (a bare ``type/subtype``) that the ``Accept`` value ``accept`` prefers.

    Ties, offers the client refuses all (q=0) or finds no match for, and an
    absent or invalid header give ``offers[0]``: a server may ignore an
    ``Accept`` it cannot satisfy (RFC 9110 section 12.5.1).
    """
    parsed = getattr(create_accept_header(accept), "parsed", None) or []
    best, best_rank = offers[0], (0.0, 0)
    for offer in offers:
        rank = _rank(parsed, offer)
        if rank[0] > 0 and rank > best_rank:
            best, best_rank = offer, rank
    return best


def prefers_json(accept: str | None) -> bool:
    """Whether the ``Accept`` value ``accept`` prefers JSON to the page (the page wins ties).

    The one rule every error answer follows: the application's error views
    and the answers ``server.py`` writes without the application.
    """
    return preferred_offer(accept, ["text/html", "application/json"]) == "application/json"


def _rank(parsed: list[tuple[str, float, list, list]], offer: str) -> tuple[float, int]:
    """``(q-value, specificity)`` of the most specific range in ``parsed`` that matches ``offer``."""
    offer_type, _, offer_subtype = offer.lower().partition("/")
    best: tuple[int, float] = (0, 0.0)
    for media_range, quality, parameters, _extensions in parsed:
        range_type, _, range_subtype = media_range.split(";")[0].strip().lower().partition("/")
        if range_type == "*" and range_subtype == "*":
            specificity = _ANY
        elif range_type != offer_type:
            continue
        elif range_subtype == "*":
            specificity = _TYPE
        elif range_subtype == offer_subtype:
            specificity = _WITH_PARAMETERS if parameters else _EXACT
        else:
            continue
        if specificity > best[0]:
            best = (specificity, quality)
    return best[1], best[0]

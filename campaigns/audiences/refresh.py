"""Segment membership materialised: `segment_refresh` writes the members a segment finds today
into `SegmentMembership`, so that the sale can target a promotion at a segment by an indexed
look-up (`campaigns.audiences.membership`) and never evaluates a segment's rules itself (the
layering contract keeps `pos.checkout` away from the selectors). Refreshed every night by the
schedule of `campaigns.schedules` and whenever the segment is saved in the admin; between two
refreshes a promotion targets the segment as the last refresh found it."""

from __future__ import annotations

import datetime

from django.db import transaction

from campaigns.audiences.models import Segment, SegmentMembership
from campaigns.audiences.selectors import audience_today, segment_members

CHUNK = 5000


def segment_refresh(*, segment: Segment, as_of: datetime.date | None = None) -> tuple[int, int]:
    """Make the stored members of `segment` what its rules find on `as_of` (default today):
    those who left are deleted, those who joined are added. Returns (added, removed). Running it
    twice on the same day changes nothing the second time."""
    as_of = as_of or audience_today()
    with transaction.atomic():
        Segment.objects.select_for_update().filter(pk=segment.pk).first()  # one refresh of a segment at a time
        found = set(segment_members(segment=segment, as_of=as_of).values_list("pk", flat=True))
        stored = set(SegmentMembership.objects.filter(segment_id=segment.pk).values_list("member_id", flat=True))
        gone = sorted(stored - found)
        new = sorted(found - stored)
        for start in range(0, len(gone), CHUNK):
            SegmentMembership.objects.filter(segment_id=segment.pk, member_id__in=gone[start : start + CHUNK]).delete()
        SegmentMembership.objects.bulk_create(
            [SegmentMembership(segment_id=segment.pk, member_id=member_id) for member_id in new], batch_size=CHUNK
        )
    return len(new), len(gone)


def segments_refresh_all(*, as_of: datetime.date | None = None) -> int:
    """Refresh every segment (the nightly job); returns how many segments were refreshed."""
    count = 0
    for segment in Segment.objects.order_by("pk"):
        segment_refresh(segment=segment, as_of=as_of)
        count += 1
    return count

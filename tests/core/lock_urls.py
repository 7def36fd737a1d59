"""A plain Django view for the lock-handoff tests under `ATOMIC_REQUESTS=True`: it locks a member,
hands the lock to the ledger and, when asked, fails after the writes."""

from django.db import connection
from django.http import JsonResponse
from django.urls import path

from members.services import member_lock, points_earn


def earn(request, member_id: int):
    assert connection.in_atomic_block, "ATOMIC_REQUESTS wraps the view in a transaction"
    with member_lock(member_id=member_id) as lock:
        points_earn(member=lock.member, lock=lock, points=10, reference=request.GET["reference"])
    if request.GET.get("fail"):
        raise RuntimeError("a bug after the writes")
    return JsonResponse({"balance": lock.member.points_balance})


urlpatterns = [path("earn/<int:member_id>", earn)]

"""POS scenarios for the API benchmark: the sale (issue 8) against the demo programme."""

from __future__ import annotations

import json
import uuid

from bench.harness import manage


class SaleScenario:
    """POST /sales for a demo member, three lines, a fresh receipt and idempotency key each time."""

    def setup(self, env, base, keys):
        out = manage(
            env,
            "shell",
            "-c",
            "import json; from members.models import Member; "
            "print(json.dumps(list(Member.objects.filter(status='active').values_list('pk', flat=True)[:200])))",
            capture=True,
        )
        return json.loads(out.strip().splitlines()[-1])

    def bind(self, member_ids):
        return SaleRequests(member_ids, uuid.uuid4().hex[:6])


class SaleRequests:
    """A picklable request factory (the load generator runs it in other processes)."""

    def __init__(self, member_ids: list[int], run: str) -> None:
        self.member_ids = member_ids
        self.run = run

    def __call__(self, index: int, sequence: int):
        member_ids, run = self.member_ids, self.run
        member = member_ids[(index * 7919 + sequence) % len(member_ids)]
        body = {
            "receipt_number": f"B-{run}-{index}-{sequence}",
            "member": member,
            "lines": [
                {"sku": "PHO-GA", "name": "Phở gà", "category": "pho", "quantity": 2, "unit_price": 50000},
                {"sku": "TRA-DA", "name": "Trà đá", "category": "drink", "quantity": 2, "unit_price": 5000},
                {"sku": "QUAY", "name": "Quẩy", "category": "side", "quantity": 1, "unit_price": 10000},
            ],
        }
        return "POST", "/api/pos/v1/sales", body, {"Idempotency-Key": f"{run}-{index}-{sequence}"}


SCENARIOS = [("sale: POST /sales (member, 3 lines)", SaleScenario())]

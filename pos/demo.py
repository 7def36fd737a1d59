"""The demo programme's sales history, recorded through the checkout like real sales. The rest
of the demo (staff included) is composed by `backoffice`'s `load_demo`."""

SALES_SEED = 20261122
SALES_DAYS = 90
DEMO_TERMINAL = "Demo"
MENUS = {
    "PHO": [
        ("PHO-BO-TAI", "Phở bò tái", "pho", 55000),
        ("PHO-BO-CHIN", "Phở bò chín", "pho", 55000),
        ("PHO-GA", "Phở gà", "pho", 50000),
        ("PHO-DAC-BIET", "Phở đặc biệt", "pho", 75000),
        ("QUAY", "Quẩy", "side", 10000),
        ("TRA-DA", "Trà đá", "drink", 5000),
        ("NUOC-CAM", "Nước cam", "drink", 30000),
    ],
    "CAFE": [
        ("CF-DEN", "Cà phê đen", "coffee", 29000),
        ("CF-SUA", "Cà phê sữa", "coffee", 35000),
        ("BAC-XIU", "Bạc xỉu", "coffee", 39000),
        ("CF-MUOI", "Cà phê muối", "coffee", 45000),
        ("TRA-DAO", "Trà đào", "tea", 45000),
        ("BANH-MI", "Bánh mì", "food", 30000),
        ("CROISSANT", "Croissant", "food", 35000),
    ],
}


def demo_limits_load() -> int:
    """The demo's plausibility limits on tills (pos-api.md 1.1): 200,000,000 VND a sale, 20,000
    points a sale, 200,000 points a terminal a day. Returns 1 when it changed them, else 0."""
    from pos.checkout.limits import LIMIT_FIELDS, sale_limits_update
    from pos.models import (
        DEMO_MAX_POINTS_PER_SALE,
        DEMO_MAX_SALE_AMOUNT,
        DEMO_MAX_TERMINAL_POINTS_PER_DAY,
        SaleLimits,
    )

    wanted = {
        "max_sale_amount": DEMO_MAX_SALE_AMOUNT,
        "max_points_per_sale": DEMO_MAX_POINTS_PER_SALE,
        "max_terminal_points_per_day": DEMO_MAX_TERMINAL_POINTS_PER_DAY,
    }
    current = SaleLimits.objects.filter(pk=SaleLimits.SINGLETON_PK).values(*LIMIT_FIELDS).first()
    if current == wanted:
        return 0
    sale_limits_update(data=wanted)
    return 1


def demo_sales_load() -> int:
    """About 90 days of sales across the four stores, recorded through the checkout like real
    ones (points, tiers, promotions all move). Runs once: when demo receipts exist, it adds
    nothing. Returns the number of sales recorded."""
    import datetime
    import random

    from django.utils import timezone

    from members.models import Member
    from pos.checkout import SaleInput, sale_record
    from pos.models import Sale
    from stores.models import Store, Terminal
    from stores.services import terminal_create

    if Sale.objects.filter(receipt_number__startswith="DEMO-").exists():
        return 0
    stores = list(
        Store.objects.filter(code__in=["PHO-HN01", "PHO-HCM01", "CAFE-HN01", "CAFE-DN01"]).select_related("brand")
    )
    members = list(Member.objects.filter(status=Member.Status.ACTIVE).order_by("pk")[:200])
    if not stores or not members:
        return 0
    terminals = {}
    for store in stores:
        terminal = Terminal.objects.filter(store=store, name=DEMO_TERMINAL).first()
        terminals[store.pk] = terminal or terminal_create(store=store, name=DEMO_TERMINAL)[0]
    rng = random.Random(SALES_SEED)  # noqa: S311 -- reproducible demo data, not secrets
    now = timezone.now()
    # A few loyal regulars buy far more often, so the tiers have members in them.
    regulars = set(rng.sample([m.pk for m in members], k=min(12, len(members))))
    plans = []
    for member in members:
        visits = rng.randint(8, 14) if member.pk in regulars else rng.randint(0, 4)
        for _ in range(visits):
            plans.append((member, rng.random()))
    for _ in range(len(members) // 2):  # walk-in customers without a card
        plans.append((None, rng.random()))
    plans.sort(key=lambda plan: plan[1])  # spread over time: oldest first, so tiers build up in order
    recorded = 0
    for number, (member, when) in enumerate(plans, start=1):
        store = rng.choice(stores)
        menu = MENUS[store.brand.code if store.brand.code in MENUS else "PHO"]
        occurred_at = now - datetime.timedelta(days=SALES_DAYS * (1 - when), minutes=rng.randint(0, 600))
        big = member is not None and member.pk in regulars and rng.random() < 0.35
        lines = []
        for sku, name, category, price in rng.sample(menu, k=rng.randint(1, 3)):
            quantity = rng.randint(8, 40) if big else rng.randint(1, 3)  # office orders for the regulars
            lines.append({"sku": sku, "name": name, "category": category, "quantity": quantity, "unit_price": price})
        sale_record(
            terminal=terminals[store.pk],
            data=SaleInput(
                receipt_number=f"DEMO-{number:05d}",
                member_id=member.pk if member else None,
                occurred_at=occurred_at,
                lines=lines,
            ),
            notify=False,  # history, not news: nobody is messaged about a sale from last month
        )
        recorded += 1
    return recorded

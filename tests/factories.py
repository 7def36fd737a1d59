"""factory_boy factories. Factories never fabricate balances or ledger rows: anything that
moves points goes through the ledger service."""

import factory

from stores.models import Brand, Store


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"B{n:03d}")
    name = factory.Sequence(lambda n: f"Thương hiệu {n}")


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"S{n:03d}")
    name = factory.Sequence(lambda n: f"Cửa hàng {n}")
    brand = factory.SubFactory(BrandFactory)
    city = "Hà Nội"
    time_zone = "Asia/Ho_Chi_Minh"


class MemberFactory(factory.django.DjangoModelFactory):
    """Members are enrolled through `member_enrol`; `points=N` credits an opening bonus
    through the ledger service (never a fabricated balance)."""

    class Meta:
        model = "members.Member"

    name = factory.Sequence(lambda n: f"Nguyễn Văn Khách {n}")
    phone = factory.Sequence(lambda n: f"+8491{n % 10_000_000:07d}")
    email = ""
    birthday = None
    gender = ""
    home_store = None
    channel = "admin"
    points = 0

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from members.models import LedgerEntry
        from members.services import member_enrol, points_earn

        points = kwargs.pop("points", 0)
        if kwargs.get("consents"):
            # Factory members are enrolled by staff (channel "admin" by default): their consents too.
            kwargs.setdefault("consent_source", "staff")
        member = member_enrol(**kwargs)
        if points:
            points_earn(
                member=member,
                points=points,
                kind=LedgerEntry.Kind.BONUS,
                reference=f"factory:opening:{member.code}",
                cause_kind="test",
            )
        return member

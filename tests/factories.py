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

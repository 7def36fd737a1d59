from django.urls import path

from pos.apis.members import MemberEnrolApi, MemberLookupApi, MemberOtpApi
from pos.apis.orders import OrderCancelApi, OrderCompleteApi, OrderCreateApi, OrderDetailApi
from pos.apis.sales import SaleCreateApi, SaleDetailApi, SaleQuoteApi, SaleRefundApi
from pos.apis.vouchers import MemberRedemptionApi, RewardListApi, VoucherDetailApi

app_name = "pos"

urlpatterns: list = [
    path("members/lookup", MemberLookupApi.as_view(), name="member-lookup"),
    path("members", MemberEnrolApi.as_view(), name="member-enrol"),
    path("members/<int:member_id>/otp", MemberOtpApi.as_view(), name="member-otp"),
]

urlpatterns += [
    path("rewards", RewardListApi.as_view(), name="reward-list"),
    path("members/<int:member_id>/redemptions", MemberRedemptionApi.as_view(), name="member-redemptions"),
    path("vouchers/<str:code>", VoucherDetailApi.as_view(), name="voucher-detail"),
]

urlpatterns += [
    path("sales/quote", SaleQuoteApi.as_view(), name="sale-quote"),
    path("sales", SaleCreateApi.as_view(), name="sale-create"),
    path("sales/<int:sale_id>", SaleDetailApi.as_view(), name="sale-detail"),
    path("sales/<int:sale_id>/refunds", SaleRefundApi.as_view(), name="sale-refunds"),
]

urlpatterns += [  # pos-api.md 1.2: online orders
    path("orders", OrderCreateApi.as_view(), name="order-create"),
    path("orders/<int:order_id>", OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<int:order_id>/complete", OrderCompleteApi.as_view(), name="order-complete"),
    path("orders/<int:order_id>/cancel", OrderCancelApi.as_view(), name="order-cancel"),
]

"""The notification templates of the demo programme (`demo-programme.md`): points-earned,
tier-changed, voucher-issued, points-expiring and birthday, by email and SMS, in Vietnamese and
English; plus an inactive Zalo ZNS example showing how a template's parameters are mapped (its
id must be replaced by one approved by Zalo before it is switched on)."""

from __future__ import annotations

from notifications.models import Channel, Event, Language, MessageTemplate
from notifications.services import template_save

# (event, channel, language) -> (subject, text)
TEMPLATES: dict[tuple[str, str, str], tuple[str, str]] = {
    # --- points-earned ---
    (Event.POINTS_EARNED, Channel.EMAIL, Language.VI): (
        "Bạn vừa nhận {points_earned} điểm",
        "Chào {member_name},\n\nCảm ơn bạn đã mua hàng. Bạn vừa được cộng {points_earned} điểm; "
        "số dư hiện tại là {points_balance} điểm.\n\nHẹn gặp lại bạn!",
    ),
    (Event.POINTS_EARNED, Channel.SMS, Language.VI): (
        "",
        "{member_name} ơi, bạn vừa được cộng {points_earned} điểm. Số dư: {points_balance} điểm. Cảm ơn bạn!",
    ),
    (Event.POINTS_EARNED, Channel.EMAIL, Language.EN): (
        "You earned {points_earned} points",
        "Hello {member_name},\n\nThank you for your purchase. You earned {points_earned} points; "
        "your balance is now {points_balance} points.\n\nSee you soon!",
    ),
    (Event.POINTS_EARNED, Channel.SMS, Language.EN): (
        "",
        "{member_name}, you earned {points_earned} points. Balance: {points_balance} points. Thank you!",
    ),
    # --- tier-changed ---
    (Event.TIER_CHANGED, Channel.EMAIL, Language.VI): (
        "Hạng thành viên mới của bạn: {tier_name}",
        "Chào {member_name},\n\nHạng thành viên của bạn nay là {tier_name}. "
        "Số dư hiện tại: {points_balance} điểm.\n\nCảm ơn bạn đã đồng hành cùng chúng tôi!",
    ),
    (Event.TIER_CHANGED, Channel.SMS, Language.VI): (
        "",
        "{member_name} ơi, hạng thành viên của bạn nay là {tier_name}. Cảm ơn bạn đã đồng hành!",
    ),
    (Event.TIER_CHANGED, Channel.EMAIL, Language.EN): (
        "Your new membership tier: {tier_name}",
        "Hello {member_name},\n\nYour membership tier is now {tier_name}. "
        "Your balance: {points_balance} points.\n\nThank you for staying with us!",
    ),
    (Event.TIER_CHANGED, Channel.SMS, Language.EN): (
        "",
        "{member_name}, your membership tier is now {tier_name}. Thank you for staying with us!",
    ),
    # --- voucher-issued ---
    (Event.VOUCHER_ISSUED, Channel.EMAIL, Language.VI): (
        "Bạn có voucher mới: {voucher_name}",
        "Chào {member_name},\n\nBạn vừa nhận voucher {voucher_name}, mã {voucher_code}, dùng được đến hết "
        "ngày {voucher_expires_at}. Hãy đưa mã này cho thu ngân khi thanh toán.\n\nChúc bạn mua sắm vui vẻ!",
    ),
    (Event.VOUCHER_ISSUED, Channel.SMS, Language.VI): (
        "",
        "Bạn nhận voucher {voucher_name}, mã {voucher_code}, hạn dùng đến {voucher_expires_at}. "
        "Đưa mã cho thu ngân khi thanh toán.",
    ),
    (Event.VOUCHER_ISSUED, Channel.EMAIL, Language.EN): (
        "A new voucher for you: {voucher_name}",
        "Hello {member_name},\n\nYou have received the voucher {voucher_name}, code {voucher_code}, valid "
        "until {voucher_expires_at}. Show this code to the cashier when you pay.\n\nEnjoy!",
    ),
    (Event.VOUCHER_ISSUED, Channel.SMS, Language.EN): (
        "",
        "Your voucher {voucher_name}, code {voucher_code}, is valid until {voucher_expires_at}. "
        "Show the code to the cashier when you pay.",
    ),
    # --- points-expiring ---
    (Event.POINTS_EXPIRING, Channel.EMAIL, Language.VI): (
        "{expiring_points} điểm của bạn sắp hết hạn",
        "Chào {member_name},\n\nBạn có {expiring_points} điểm sắp hết hạn, sớm nhất vào cuối ngày "
        "{expiry_date}. Số dư hiện tại: {points_balance} điểm.\n\nHãy dùng điểm để đổi voucher hoặc "
        "thanh toán trước khi hết hạn nhé!",
    ),
    (Event.POINTS_EXPIRING, Channel.SMS, Language.VI): (
        "",
        "{member_name} ơi, {expiring_points} điểm của bạn sắp hết hạn (sớm nhất {expiry_date}). "
        "Hãy dùng điểm trước khi hết hạn nhé!",
    ),
    (Event.POINTS_EXPIRING, Channel.EMAIL, Language.EN): (
        "{expiring_points} of your points expire soon",
        "Hello {member_name},\n\nYou have {expiring_points} points expiring soon, the first of them at the "
        "end of {expiry_date}. Your balance: {points_balance} points.\n\nUse them for a voucher or towards "
        "a purchase before they expire!",
    ),
    (Event.POINTS_EXPIRING, Channel.SMS, Language.EN): (
        "",
        "{member_name}, {expiring_points} of your points expire soon (the first on {expiry_date}). "
        "Use them before they expire!",
    ),
    # --- birthday ---
    (Event.BIRTHDAY, Channel.EMAIL, Language.VI): (
        "Chúc mừng sinh nhật, {member_name}!",
        "Chào {member_name},\n\nChúc bạn sinh nhật thật vui! Chúng tôi gửi tặng bạn voucher {voucher_name}, "
        "mã {voucher_code}, dùng được đến hết ngày {voucher_expires_at}. Đúng ngày sinh nhật, bạn còn được "
        "nhân 3 điểm thưởng.\n\nThân mến!",
    ),
    (Event.BIRTHDAY, Channel.SMS, Language.VI): (
        "",
        "Chúc mừng sinh nhật {member_name}! Tặng bạn voucher {voucher_name}, mã {voucher_code}, "
        "hạn dùng đến {voucher_expires_at}.",
    ),
    (Event.BIRTHDAY, Channel.EMAIL, Language.EN): (
        "Happy birthday, {member_name}!",
        "Hello {member_name},\n\nHappy birthday! Here is a gift for you: the voucher {voucher_name}, code "
        "{voucher_code}, valid until {voucher_expires_at}. On your birthday you also earn triple points."
        "\n\nBest wishes!",
    ),
    (Event.BIRTHDAY, Channel.SMS, Language.EN): (
        "",
        "Happy birthday {member_name}! Your gift: voucher {voucher_name}, code {voucher_code}, "
        "valid until {voucher_expires_at}.",
    ),
    # --- presence-code (the till asks the member to read it out; valid 5 minutes) ---
    (Event.PRESENCE_CODE, Channel.SMS, Language.VI): (
        "",
        "Mã xác nhận dùng điểm tại {store_name}: {one_time_code} (hiệu lực 5 phút). "
        "Chỉ đọc mã cho thu ngân khi bạn đang ở quầy.",
    ),
    (Event.PRESENCE_CODE, Channel.SMS, Language.EN): (
        "",
        "Your code to spend points at {store_name}: {one_time_code} (valid 5 minutes). "
        "Only read it to the cashier when you are at the till.",
    ),
    # --- sign-in-code (the member pages; without an active one nobody can sign in there) ---
    (Event.SIGN_IN_CODE, Channel.SMS, Language.VI): (
        "",
        "Mã đăng nhập trang thành viên: {one_time_code} (hiệu lực 5 phút). Không đưa mã này cho ai.",
    ),
    (Event.SIGN_IN_CODE, Channel.SMS, Language.EN): (
        "",
        "Your member pages sign-in code: {one_time_code} (valid 5 minutes). Never share this code.",
    ),
    # --- paid membership (memberships: the daily job) ---
    (Event.MEMBERSHIP_RENEWAL, Channel.SMS, Language.VI): (
        "",
        "{member_name} ơi, gói {membership_name} của bạn hết hạn ngày {membership_ends_at}. "
        "Gia hạn tại quầy để tiếp tục nhận điểm x1.5 và voucher mỗi tháng.",
    ),
    (Event.MEMBERSHIP_RENEWAL, Channel.SMS, Language.EN): (
        "",
        "{member_name}, your {membership_name} membership ends on {membership_ends_at}. "
        "Renew at the till to keep earning x1.5 points and a monthly voucher.",
    ),
    (Event.MEMBERSHIP_EXPIRED, Channel.SMS, Language.VI): (
        "",
        "{member_name} ơi, gói {membership_name} của bạn đã hết hạn ngày {membership_ends_at}. "
        "Đăng ký lại tại quầy bất cứ lúc nào.",
    ),
    (Event.MEMBERSHIP_EXPIRED, Channel.SMS, Language.EN): (
        "",
        "{member_name}, your {membership_name} membership ended on {membership_ends_at}. "
        "Join again at the till any time.",
    ),
}

ZNS_EXAMPLE = {
    "event": Event.POINTS_EARNED,
    "channel": Channel.ZALO,
    "language": Language.VI,
    "body": "Điểm thưởng: {member_name} vừa được cộng {points_earned} điểm, số dư {points_balance} điểm.",
    "zalo_template_id": "000000",
    "zalo_params": {"customer_name": "{member_name}", "point": "{points_earned}", "balance": "{points_balance}"},
    "is_active": False,
}


def demo_notifications_load() -> int:
    """Create the demo templates that are missing; never change one an operator may have
    edited. Returns the number created."""
    created = 0
    wanted = [
        {"event": event, "channel": channel, "language": language, "subject": subject, "body": body}
        for (event, channel, language), (subject, body) in TEMPLATES.items()
    ]
    for fields in [*wanted, ZNS_EXAMPLE]:
        key = {name: fields[name] for name in ("event", "channel", "language")}
        if MessageTemplate.objects.filter(variant="", **key).exists():
            continue
        template_save(template=MessageTemplate(variant="", **fields))
        created += 1
    return created

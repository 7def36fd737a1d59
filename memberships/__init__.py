"""Paid membership (issue 17 item 4): plans sold for a fee and a period, the members' periods,
their benefits (an earn multiplier read by the checkout, a voucher each month), reminders and
expiry. See docs/paid-membership.md."""

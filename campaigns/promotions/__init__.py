"""Promotions: earn multipliers, bonus points and direct discounts, read by the checkout on every
sale (cached rules, see `selectors`). Knows nothing of audiences' imports or scheduled runs."""

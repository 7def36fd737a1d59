"""The referral programme: who referred whom, and the points the referrer earns on a first sale.
Read by the checkout on every sale."""

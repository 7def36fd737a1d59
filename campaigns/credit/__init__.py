"""Store credit (cash-back) earning rules (issue 17 item 3): which lines of a sale earn store
credit, and at which percent. The balance and its ledger live in `members` (the owner of
balances); the checkout (`pos.checkout.credit`) reads these rules and posts to that ledger."""

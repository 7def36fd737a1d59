"""Left until the voucher bulk issue moves to `vouchers`."""

"""The POS API views, one module per part of the contract (`pos-api.md`). The OpenAPI pieces
they share (Idempotency-Key header, problem+json body, common errors) live in
`loyalty_site.core.api.schema`."""

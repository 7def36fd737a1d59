"""Every write of the portal app (its sessions are written by `portal.sessions`)."""

from portal.services.signin import (
    SignInProof,
    SignInRefused,
    SignInThrottled,
    enrol_proof_make,
    enrol_proof_phone,
    sign_in_code_request,
    sign_in_code_verify,
)

__all__ = [
    "SignInProof",
    "SignInRefused",
    "SignInThrottled",
    "enrol_proof_make",
    "enrol_proof_phone",
    "sign_in_code_request",
    "sign_in_code_verify",
]

"""Services behind the WABA-facing API, one module per area.

`tenant_verify` (verification.py) is re-exported for callers that import `outbound.services`;
`manage.py tenant verify` and the tenant admin's verify action use it.
"""

from outbound.services.verification import TenantVerificationFailed, tenant_verify

__all__ = ["TenantVerificationFailed", "tenant_verify"]

"""Services behind the WABA-facing API, one module per area.

`tenant_verify` is re-exported here because `manage.py tenant verify` and the tenant admin
import it from `outbound.services`.
"""

from outbound.services.verification import TenantVerificationFailed, tenant_verify

__all__ = ["TenantVerificationFailed", "tenant_verify"]

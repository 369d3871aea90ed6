"""The REST API the WABA platform calls: /api/v1/tenants/{slug}/... (docs/api.md).

Thin views, one APIView per endpoint: validate, call one service, answer. Errors are
raised, never caught here; the problem-details handler answers them.
"""

from outbound.views.base import TenantApi

__all__ = ["TenantApi"]

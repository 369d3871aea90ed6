"""`manage.py tenant ...` with `verify`: the tenant command of tenants/ plus the one action
that calls Genesys. Django takes a command from the first app in INSTALLED_APPS that has it,
and settings list outbound before tenants, so this is the `tenant` command that runs.
"""

from argparse import ArgumentParser, _SubParsersAction
from typing import Any

from django.core.management.base import CommandError

from outbound.services.verification import TenantVerificationFailed, tenant_verify
from tenants.management.commands import tenant


class Command(tenant.Command):
    def add_actions(self, commands: "_SubParsersAction[ArgumentParser]") -> None:
        super().add_actions(commands)
        verify = commands.add_parser(
            "verify", help="check the Genesys credentials and record the organisation id"
        )
        verify.add_argument("slug")

    def _verify(self, options: dict[str, Any]) -> None:
        tenant = self._tenant(options["slug"])
        try:
            organization = tenant_verify(tenant=tenant)
        except TenantVerificationFailed as exc:
            raise CommandError(f"verify {tenant.slug}: {exc}") from None
        self.stdout.write(
            f"verified {tenant.slug}: organization {organization.get('name', '?')} "
            f"({tenant.organization_id})"
        )

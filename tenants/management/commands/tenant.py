"""`manage.py tenant ...`: non-interactive tenant management for scripts and tests.

`tenant verify` needs Genesys, so outbound/ extends this command with it
(outbound/management/commands/tenant.py); settings list outbound first so Django runs that one.
"""

import sys
from argparse import ArgumentParser, _SubParsersAction
from typing import Any, TextIO

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants import crypto, services
from tenants.models import Tenant
from tenants.regions import REGIONS

# A secret given as "-" is read from standard input: an argument shows in `ps` to every user
# of the machine and may land in shell history; standard input does not.
FROM_STDIN = "-"
SECRET_HELP = f"the secret, or {FROM_STDIN!r} to read it from standard input (safer)"


def _one_line(error: ValidationError) -> str:
    return "; ".join(str(message) for message in error.messages)


class Command(BaseCommand):
    help = "Create and manage tenants, their integrations, secrets and API keys."
    stealth_options = ("stdin",)  # call_command(..., stdin=StringIO(...)) in tests

    def add_arguments(self, parser: ArgumentParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        self.add_actions(commands)

    def add_actions(self, commands: "_SubParsersAction[ArgumentParser]") -> None:
        """One sub-parser per action; `handle` runs the method `_<action>`."""
        create = commands.add_parser("create", help="create a tenant")
        create.add_argument("slug")
        create.add_argument("--name", required=True)
        create.add_argument(
            "--region", required=True, help=f"one of {', '.join(REGIONS)} or 'custom'"
        )
        create.add_argument("--api-base-url", default="")
        create.add_argument("--login-base-url", default="")
        create.add_argument("--client-id", required=True)
        create.add_argument("--client-secret", required=True, help=SECRET_HELP)

        add_integration = commands.add_parser(
            "add-integration",
            help="register an Open Messaging integration, or rotate its secret "
            "(the previous secret stays valid until --drop-previous)",
        )
        add_integration.add_argument("slug")
        add_integration.add_argument("integration_id")
        add_integration.add_argument("--secret", required=True, help=SECRET_HELP)
        add_integration.add_argument("--name", default="")

        drop_previous = commands.add_parser(
            "drop-previous-secret", help="end a secret rotation: accept only the new secret"
        )
        drop_previous.add_argument("slug")
        drop_previous.add_argument("integration_id")

        events_secret = commands.add_parser(
            "set-events-secret", help="set the events webhook secret"
        )
        events_secret.add_argument("slug")
        events_secret.add_argument("--secret", required=True, help=SECRET_HELP)

        client_secret = commands.add_parser(
            "set-client-secret", help="replace the Genesys OAuth client secret"
        )
        client_secret.add_argument("slug")
        client_secret.add_argument("--secret", required=True, help=SECRET_HELP)

        create_key = commands.add_parser(
            "create-key", help="create an API key and print it (alone) on stdout"
        )
        create_key.add_argument("slug")
        create_key.add_argument("--name", default="")

        revoke_key = commands.add_parser("revoke-key", help="revoke an API key by its prefix")
        revoke_key.add_argument("slug")
        revoke_key.add_argument("prefix")

        commands.add_parser("list", help="list tenants")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"].replace("-", "_")
        stdin: TextIO = options.get("stdin") or sys.stdin
        for name in ("client_secret", "secret"):
            if options.get(name) == FROM_STDIN:
                options[name] = stdin.readline().rstrip("\r\n")
        try:
            getattr(self, f"_{action}")(options)
        except ValidationError as exc:
            raise CommandError(_one_line(exc)) from None
        except crypto.SecretUnreadable as exc:
            raise CommandError(f"{exc}; check FIELD_ENCRYPTION_KEYS") from None
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None

    def _tenant(self, slug: str) -> Tenant:
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"no tenant with slug {slug!r}")
        return tenant

    def _create(self, options: dict[str, Any]) -> None:
        tenant = services.tenant_create(
            slug=options["slug"],
            name=options["name"],
            region=options["region"],
            client_id=options["client_id"],
            client_secret=options["client_secret"],
            api_base_url=options["api_base_url"],
            login_base_url=options["login_base_url"],
        )
        self.stdout.write(f"created tenant {tenant.slug}")

    def _add_integration(self, options: dict[str, Any]) -> None:
        integration = services.integration_add(
            tenant=self._tenant(options["slug"]),
            integration_id=options["integration_id"],
            secret=options["secret"],
            name=options["name"],
        )
        rotated = (
            " (previous secret still accepted)" if integration.previous_secret_encrypted else ""
        )
        self.stdout.write(f"integration {integration.integration_id} ready{rotated}")

    def _drop_previous_secret(self, options: dict[str, Any]) -> None:
        tenant = self._tenant(options["slug"])
        integration = tenant.integrations.filter(integration_id=options["integration_id"]).first()
        if integration is None:
            raise CommandError(
                f"tenant {tenant.slug} has no integration {options['integration_id']}"
            )
        services.integration_drop_previous_secret(integration=integration)
        self.stdout.write(f"integration {integration.integration_id}: previous secret dropped")

    def _set_events_secret(self, options: dict[str, Any]) -> None:
        tenant = self._tenant(options["slug"])
        services.tenant_set_events_secret(tenant=tenant, secret=options["secret"])
        self.stdout.write(f"events secret of {tenant.slug} set")

    def _set_client_secret(self, options: dict[str, Any]) -> None:
        tenant = self._tenant(options["slug"])
        services.tenant_set_client_secret(tenant=tenant, secret=options["secret"])
        self.stdout.write(f"client secret of {tenant.slug} replaced")

    def _create_key(self, options: dict[str, Any]) -> None:
        _, raw_key = services.api_key_create(
            tenant=self._tenant(options["slug"]), name=options["name"]
        )
        self.stdout.write(raw_key)

    def _revoke_key(self, options: dict[str, Any]) -> None:
        tenant = self._tenant(options["slug"])
        keys = list(tenant.api_keys.filter(prefix__startswith=options["prefix"]))
        if len(keys) != 1:
            raise CommandError(
                f"{len(keys)} keys of {tenant.slug} start with {options['prefix']!r}; "
                "need exactly 1"
            )
        services.api_key_revoke(api_key=keys[0])
        self.stdout.write(f"revoked key {keys[0].prefix}")

    def _list(self, options: dict[str, Any]) -> None:
        for tenant in Tenant.objects.all():
            state = "active" if tenant.is_active else "inactive"
            self.stdout.write(f"{tenant.slug}\t{tenant.region}\t{state}\t{tenant.organization_id}")

#!/usr/bin/env python
"""Django's command-line utility for the Genesys Gateway."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.base")
    from django.core.management import execute_from_command_line

    from settings.checks import settings_refuse_misconfigured

    settings_refuse_misconfigured()

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

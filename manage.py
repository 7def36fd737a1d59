#!/usr/bin/env python
import os
import sys


def main() -> None:
    # Safe by default: production settings unless told otherwise (`make run` says local).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty_site.settings.production")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

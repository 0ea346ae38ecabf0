#!/usr/bin/env python
"""Django's command-line utility for litemaas."""
import os
import sys


def main() -> None:
    """Run administrative tasks with the project's single settings module."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "litemaas.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

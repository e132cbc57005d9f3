"""``python -m alerts``: see :mod:`alerts.service`."""

from alerts.service import main

main()

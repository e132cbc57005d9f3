"""Notification channels: the transport layer that gets an alert to a person.

Each channel speaks one real protocol or format (SMS over SMPP 3.4, e-mail over SMTP with
STARTTLS, WeCom and DingTalk group robots) and implements :class:`notify.channel.Channel`:
``send(notification) -> Attempt``. Message texts come from one catalogue
(:mod:`notify.catalogue`); everything apart from the network I/O is pure. Routing, rosters,
escalation and the persistence of notifications come later (see docs/notifications.md).
"""

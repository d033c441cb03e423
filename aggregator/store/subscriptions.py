"""The daemon's hub's subscriptions: verified, with their lease's end."""

from __future__ import annotations

from aggregator.model import Subscription
from aggregator.store.connection import Connection


class Subscriptions(Connection):
    def subscriptions(self) -> list[Subscription]:
        rows = self.db.execute("SELECT callback, topic, secret, expires FROM subscriptions ORDER BY callback, topic")
        return [Subscription(*row) for row in rows]

    def put_subscription(self, subscription: Subscription) -> None:
        """Add or renew a subscription (one per callback and topic)."""
        self.db.execute("INSERT OR REPLACE INTO subscriptions(callback, topic, secret, expires) VALUES (?, ?, ?, ?)",
                        subscription)

    def delete_subscription(self, callback: str, topic: str) -> None:
        self.db.execute("DELETE FROM subscriptions WHERE callback=? AND topic=?", (callback, topic))

"""Django's PostgreSQL backend, with a cheaper check of a persistent connection.

With CONN_HEALTH_CHECKS Django runs `SELECT 1` before the first query of every request:
a round trip as long as the webhook's own INSERT. An idle connection the server has
closed (restart, idle timeout, terminated backend) has something to read (the end of
the stream or the server's goodbye), because the server sends nothing unasked on an
idle connection that LISTENs to nothing. So: usable when the socket has nothing to
read; otherwise Django closes it and opens a new one before the query.
"""

import select
from typing import Any

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        conn: Any = self.connection
        if conn is None or conn.closed:
            return False
        try:
            readable, _, _ = select.select([conn.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

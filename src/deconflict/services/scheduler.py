"""What the service does by itself as time passes, one `tick` at a time (driven by the clock)."""

from __future__ import annotations

from dataclasses import dataclass

from deconflict.services import audit, channels, notices, tracks
from deconflict.services.core import Core


@dataclass
class Ticker:
    core: Core
    signer: audit.Signer
    checkpoint_interval_s: float = 600.0
    #: Position reports older than this are deleted (alerts keep their own copy of the tracks).
    track_retention_s: float = 86_400.0

    def tick(self) -> dict[str, int]:
        """Escalate overdue notices, publish channel state changes, sign a checkpoint when due,
        delete position reports past their retention.

        Every step reads first and takes the write lock only when it has something to do.
        """
        done = {
            "escalations": notices.escalate_due(self.core),
            "channel_changes": channels.refresh_states(self.core),
            "checkpoints": 0,
            "reports_deleted": tracks.prune_history(self.core, self.track_retention_s),
        }
        if audit.checkpoint_due(self.core, self.checkpoint_interval_s):
            done["checkpoints"] = int(audit.checkpoint(self.core, self.signer, only_if_moved=True) is not None)
        return done

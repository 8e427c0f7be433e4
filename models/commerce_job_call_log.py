from odoo import models


class CommerceJob(models.Model):
    """Store the outbound calls a job's handler made, whatever the handler's outcome."""

    _inherit = "commerce.job"

    def _execute(self):
        # The calls are buffered during the run and written here, after the handler's savepoint
        # was released or rolled back, in the runner's transaction that also records the outcome.
        # Not through a separate cursor: that would need a second connection per job, commit
        # rows before the job row they point at is committed, and escape the test transaction.
        CallLog = self.env["commerce.call.log"]
        with CallLog._capture() as records:
            super()._execute()
        CallLog._store(records, job=self)

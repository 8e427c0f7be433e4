"""SP-API simulator family: Reports 2021-06-30: getReports, getReportDocument (settlement reports).

Composed into :class:`~.spapi.SpApiSimulator`; see ``spapi_common`` for the conventions.
Model file: ``spapi_models/reports_2021-06-30.json`` (copied unchanged from Amazon's models).
"""


class ReportsMixin:
    """No operations yet: routes are added with ``@sp_api_operation(MODEL, "operationId")``."""

    def _init_reports(self):
        pass

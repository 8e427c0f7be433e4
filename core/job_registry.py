"""Registry of job handlers: job_type -> callable(job_record) -> result.

Channel code registers its handlers at import time, e.g.::

    @job_handler("clarity.order.import")
    def import_clarity_order(job):
        return job.env["commerce.order.importer"]._import_from_job(job)

A handler returns a JSON-serialisable result (kept on the job) or None, and raises a
:mod:`core.errors` exception to classify a failure.
"""

_HANDLERS = {}


def register(job_type, handler):
    _HANDLERS[job_type] = handler
    return handler


def job_handler(job_type):
    def decorate(func):
        return register(job_type, func)

    return decorate


def get_handler(job_type):
    return _HANDLERS.get(job_type)


def registered_types():
    return sorted(_HANDLERS)

"""Shared fixtures for the connector's Odoo tests."""

import os
import threading
from contextlib import contextmanager
from unittest import mock

from odoo import SUPERUSER_ID, api
from odoo.tests.common import TransactionCase, new_test_user

NO_MAIL = {"tracking_disable": True, "mail_create_nolog": True, "mail_notrack": True}


class CommerceCase(TransactionCase):
    """A Clarity backend and one user per connector group."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, **NO_MAIL))
        cls.backend = cls.env["commerce.backend"].create({
            "name": "Test store",
            "channel": "clarity",
            "clarity_base_url": "http://127.0.0.1:9",
            "clarity_client_id": "client-id",
            "clarity_client_secret": "s3cr3t-client-secret",
            "clarity_webhook_secret": "whsec-super-secret",
        })
        cls.commerce_user = new_test_user(
            cls.env, login="commerce_user", groups="base.group_user,commerce_connector.group_commerce_user")
        cls.commerce_manager = new_test_user(
            cls.env, login="commerce_manager", groups="base.group_user,commerce_connector.group_commerce_manager")
        cls.Job = cls.env["commerce.job"]

    def enqueue(self, job_type, payload=None, **kwargs):
        return self.Job.enqueue(self.backend, job_type, payload=payload, **kwargs)

    def run_jobs(self, **kwargs):
        return self.Job._run_jobs(time_budget=kwargs.pop("time_budget", 30), **kwargs)


@contextmanager
def committed_env(registry):
    """An environment on a new, real cursor (committed on success), for concurrency tests."""
    with registry.cursor() as cr:
        yield api.Environment(cr, SUPERUSER_ID, dict(NO_MAIL))


def run_in_threads(*targets):
    """Run callables in parallel threads; re-raise the first exception any of them raised."""
    errors = []

    def wrap(target):
        def run():
            try:
                target()
            except BaseException as exc:  # reported to the test below
                errors.append(exc)
        return run

    threads = [threading.Thread(target=wrap(t)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    if errors:
        raise errors[0]


def isolate_sp_api_environment(test):
    """Hide, for one test, the environment variables python-amazon-sp-api prefers over its
    arguments: SP_API_DEFAULT_MARKETPLACE replaces the loopback marketplace, AWS_ENV the hosts."""
    environ = mock.patch.dict(os.environ)
    environ.start()
    test.addCleanup(environ.stop)
    for name in ("SP_API_DEFAULT_MARKETPLACE", "AWS_ENV"):
        os.environ.pop(name, None)

"""XML-RPC access to the `make run` sandbox for the tools next to it (plain stdlib)."""

import xmlrpc.client


def add_connection_arguments(parser):
    parser.add_argument("--url", default="http://127.0.0.1:8069")
    parser.add_argument("--db", default="commerce")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")


def connect(args):
    """Log in; return ``call(model, method, *args, **kwargs)`` (RuntimeError when refused)."""
    uid = xmlrpc.client.ServerProxy(f"{args.url}/xmlrpc/2/common").authenticate(
        args.db, args.login, args.password, {})
    if not uid:
        raise RuntimeError(f"login {args.login} refused on {args.db}")
    models = xmlrpc.client.ServerProxy(f"{args.url}/xmlrpc/2/object", allow_none=True)

    def call(model, method, *call_args, **kwargs):
        return models.execute_kw(args.db, uid, args.password, model, method, list(call_args), kwargs)

    return call

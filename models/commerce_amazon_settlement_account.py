from fnmatch import fnmatchcase

from odoo import _, api, fields, models

# Accounts the shipped mapping rows book to, created per company on first use when the chart
# has none of that code: (code, name, account type, reconcilable).
ACCOUNT_ROLES = {
    "receivable": None,  # the customer receivable of the order (the invoice's), so both reconcile
    "facilitator_tax": ("AMZ2100", "Amazon Marketplace Facilitator Tax", "liability_current", False),
    "fees": ("AMZ6100", "Amazon Selling Fees", "expense", False),
    "fba_fees": ("AMZ6110", "Amazon FBA Fees", "expense", False),
    "advertising": ("AMZ6120", "Amazon Advertising", "expense", False),
    "reserve": ("AMZ1190", "Amazon Reserve", "asset_current", False),
    "reimbursement": ("AMZ7100", "Amazon FBA Reimbursements", "income_other", False),
    "deposit": ("AMZ1180", "Amazon Settlement Transfers", "asset_current", True),
}
ROLE_SELECTION = [
    ("receivable", "Order receivable"),
    ("facilitator_tax", "Marketplace facilitator tax"),
    ("fees", "Amazon fees"),
    ("fba_fees", "FBA fees"),
    ("advertising", "Advertising"),
    ("reserve", "Reserve"),
    ("reimbursement", "Reimbursements"),
    ("deposit", "Deposit (bank transfer clearing)"),
]
KEY_FIELDS = ("transaction_type", "amount_type", "amount_description", "marketplace_name")


def _is_wildcard(pattern):
    return not pattern or pattern == "*"


class CommerceAmazonSettlementAccount(models.Model):
    """Which account a settlement amount is booked to, by (transaction type, amount type,
    amount description, marketplace).

    Every key is a pattern: empty or ``*`` matches anything, ``FBA*`` any value starting with
    FBA. The most specific row wins: a backend's own rows before global ones, then the row
    with the most exact keys, then the longest patterns, then the sequence.
    """

    _name = "commerce.amazon.settlement.account"
    _description = "Amazon Settlement Account Mapping"
    _order = "sequence, id"

    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    backend_id = fields.Many2one("commerce.backend", ondelete="cascade", index=True,
                                 help="Empty: used by every Amazon backend.")
    transaction_type = fields.Char(default="*", help="e.g. Order, Refund, other-transaction, ServiceFee")
    amount_type = fields.Char(default="*", help="e.g. ItemPrice, ItemFees, Promotion, ItemWithheldTax")
    amount_description = fields.Char(default="*", help="e.g. Principal, Commission, FBA*")
    marketplace_name = fields.Char(default="*", help="e.g. Amazon.com")
    account_role = fields.Selection(ROLE_SELECTION, help="Used when no account is set: the account of this "
                                    "role, created per company when the chart has none.")
    account_id = fields.Many2one("account.account", string="Account",
                                 help="The account for every company of the backend's; empty: the role's.")

    _sql_constraints = [("account_or_role", "CHECK(account_id IS NOT NULL OR account_role IS NOT NULL)",
                         "A settlement mapping needs an account or an account role.")]

    @api.depends(*KEY_FIELDS)
    def _compute_display_name(self):
        for row in self:
            row.display_name = " / ".join(row[name] or "*" for name in KEY_FIELDS)

    def _matches(self, key):
        return all(_is_wildcard(self[name]) or fnmatchcase(value or "", self[name])
                   for name, value in zip(KEY_FIELDS, key))

    def _specificity(self):
        patterns = [self[name] for name in KEY_FIELDS]
        exact = sum(1 for p in patterns if not _is_wildcard(p) and "*" not in p and "?" not in p)
        length = sum(len((p or "").replace("*", "")) for p in patterns)
        return (bool(self.backend_id), exact, length, -self.sequence, -self.id)

    @api.model
    def resolve(self, backend, keys):
        """``({key: row}, [unmapped keys])`` for an iterable of 4-tuples."""
        rows = self.sudo().search(["|", ("backend_id", "=", False), ("backend_id", "=", backend.id)])
        resolved, missing = {}, []
        for key in keys:
            matching = rows.filtered(lambda r, key=key: r._matches(key))
            if matching:
                resolved[key] = max(matching, key=lambda r: r._specificity())
            else:
                missing.append(key)
        return resolved, missing

    def _account(self, company):
        """The account of this row in ``company`` (its own, else its role's)."""
        self.ensure_one()
        if self.account_id:
            return self.account_id
        return self.role_account(self.account_role, company)

    @api.model
    def role_account(self, role, company):
        """The account of ``role`` in ``company``; created there with the role's code when missing."""
        Account = self.env["account.account"].sudo().with_company(company)
        domain = Account._check_company_domain(company)
        if role == "receivable":
            account = Account.search([*domain, ("account_type", "=", "asset_receivable"), ("deprecated", "=", False)],
                                     limit=1)
            code, name, account_type, reconcile = ("AMZ1210", _("Amazon Receivable"), "asset_receivable", True)
        else:
            code, name, account_type, reconcile = ACCOUNT_ROLES[role]
            account = Account.search([*domain, ("code", "=", code)], limit=1)
        return account or Account.create({"code": code, "name": name, "account_type": account_type,
                                          "reconcile": reconcile, "company_ids": [(6, 0, company.ids)]})

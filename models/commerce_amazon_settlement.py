from collections import defaultdict
from decimal import Decimal

from markupsafe import Markup
from psycopg2.extras import execute_values

from odoo import Command, _, api, fields, models
from odoo.tools import float_compare, float_is_zero

from ..channels.amazon.settlement import read_settlement
from ..core.errors import BusinessError

SETTLEMENT_STATES = [
    ("draft", "Imported"),
    ("posted", "Posted"),
    ("reconciled", "Reconciled"),
    ("error", "Needs Mapping"),
]
INSERT_BATCH = 2000
REPORT_MAX_ROWS = 500  # per section of the reconciliation report; the counters give the totals
# (column, SettlementRow attribute) of the raw INSERT of the lines.
LINE_COLUMNS = (
    ("line_number", "line_number"), ("transaction_type", "transaction_type"), ("amazon_order_id", "order_id"),
    ("merchant_order_id", "merchant_order_id"), ("adjustment_id", "adjustment_id"), ("shipment_id", "shipment_id"),
    ("marketplace_name", "marketplace_name"), ("amount_type", "amount_type"),
    ("amount_description", "amount_description"), ("amount", "amount"), ("fulfillment_id", "fulfillment_id"),
    ("posted_date", "posted_date"), ("posted_datetime", "posted_datetime"), ("order_item_code", "order_item_code"),
    ("merchant_order_item_id", "merchant_order_item_id"),
    ("merchant_adjustment_item_id", "merchant_adjustment_item_id"), ("sku", "sku"), ("quantity", "quantity"),
    ("promotion_id", "promotion_id"),
)


class CommerceAmazonSettlement(models.Model):
    """One Amazon settlement (the two-weekly payout): its lines, its journal entry, its reconciliation."""

    _name = "commerce.amazon.settlement"
    _inherit = ["mail.thread"]
    _description = "Amazon Settlement"
    _order = "date_end desc, id desc"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", store=True)
    backend_id = fields.Many2one("commerce.backend", required=True, index=True, ondelete="restrict", readonly=True)
    company_id = fields.Many2one(related="backend_id.company_id", store=True, index=True)
    settlement_id = fields.Char(string="Settlement ID", required=True, readonly=True, index=True)
    report_id = fields.Char(string="Report ID", readonly=True, help="The Amazon report it was downloaded from.")
    date_start = fields.Datetime(string="Period Start", readonly=True)
    date_end = fields.Datetime(string="Period End", readonly=True)
    deposit_date = fields.Datetime(readonly=True)
    currency_id = fields.Many2one("res.currency", required=True, readonly=True)
    total_amount = fields.Monetary(string="Total (Net Deposit)", readonly=True,
                                   help="What Amazon pays out (negative: what it collects).")
    line_count = fields.Integer(readonly=True)
    state = fields.Selection(SETTLEMENT_STATES, default="draft", required=True, tracking=True, readonly=True)
    move_id = fields.Many2one("account.move", string="Journal Entry", readonly=True, copy=False, check_company=True)
    line_ids = fields.One2many("commerce.amazon.settlement.line", "settlement_id", string="Lines", readonly=True)
    error_message = fields.Text(readonly=True)
    reconciled_count = fields.Integer(string="Reconciled Order Lines", readonly=True)
    unreconciled_count = fields.Integer(string="Open Order Lines", readonly=True)
    deposit_reconciled = fields.Boolean(readonly=True)
    reconciliation_report = fields.Html(readonly=True, sanitize=True,
                                        help="Totals per type, what was reconciled and what was not, and why.")

    _sql_constraints = [("settlement_uniq", "unique(backend_id, settlement_id)",
                         "This settlement was already imported for this backend.")]

    @api.depends("settlement_id", "date_end")
    def _compute_name(self):
        for settlement in self:
            settlement.name = _("Settlement %s", settlement.settlement_id or "")

    # -- import ----------------------------------------------------------------------------
    @api.model
    def _import_report(self, backend, stream, charset, compression=None, report_id=None):
        """Parse a settlement document (streamed) into a settlement and its lines: ``(settlement, created)``.

        A settlement already imported (the same settlement can come under several reports) is
        returned as is. A malformed row raises before the transaction commits: nothing stays.
        """
        reader = read_settlement(stream, charset, compression)
        header = reader.header
        existing = self.search([("backend_id", "=", backend.id), ("settlement_id", "=", header.settlement_id)],
                               limit=1)
        if existing:
            return existing, False
        currency = self.env["res.currency"].with_context(active_test=False).search(
            [("name", "=", header.currency)], limit=1)
        if not currency:
            raise BusinessError(f"settlement {header.settlement_id}: unknown currency {header.currency!r}")
        if not currency.active:
            raise BusinessError(f"settlement {header.settlement_id}: activate the currency {currency.name} first")
        settlement = self.create({
            "backend_id": backend.id, "settlement_id": header.settlement_id, "report_id": report_id or False,
            "date_start": header.start, "date_end": header.end, "deposit_date": header.deposit_date,
            "currency_id": currency.id, "total_amount": float(header.total_amount),
        })
        count = settlement._insert_lines(reader.rows())
        settlement.line_count = count
        missing = settlement._unmapped()
        if missing:
            settlement.write({"state": "error", "error_message": _unmapped_message(missing)})
        return settlement, True

    def _insert_lines(self, rows):
        """Insert the rows in batches with plain SQL: the ORM's create needs minutes and gigabytes
        for the 100,000 rows of a large settlement; these lines have no computed stored field,
        no constraint and no tracking, so nothing the ORM would do is skipped."""
        self.ensure_one()
        self.env.flush_all()
        cr = self.env.cr
        columns = ", ".join(["settlement_id", *(c for c, _a in LINE_COLUMNS),
                             "create_uid", "create_date", "write_uid", "write_date"])
        query = f"INSERT INTO commerce_amazon_settlement_line ({columns}) VALUES %s"
        now, uid = fields.Datetime.now(), self.env.uid
        batch, count = [], 0
        for row in rows:
            batch.append((self.id, *((getattr(row, a) if getattr(row, a) != "" else None) for _c, a in LINE_COLUMNS),
                          uid, now, uid, now))
            if len(batch) >= INSERT_BATCH:
                execute_values(cr, query, batch, page_size=INSERT_BATCH)
                count += len(batch)
                batch = []
        if batch:
            execute_values(cr, query, batch, page_size=INSERT_BATCH)
            count += len(batch)
        self.env["commerce.amazon.settlement.line"].invalidate_model()
        self.invalidate_recordset(["line_ids"])
        return count

    # -- posting ---------------------------------------------------------------------------
    def _groups(self, extra=""):
        """Sums of the lines by (transaction type, amount type, amount description, marketplace, order[, extra]).

        ``extra`` is a column name given by this module's code, never user input.
        """
        self.ensure_one()
        self.env.flush_all()
        extra_sql = f", COALESCE({extra}, '')" if extra else ""
        self.env.cr.execute(f"""
            SELECT transaction_type, amount_type, COALESCE(amount_description, ''), COALESCE(marketplace_name, ''),
                   COALESCE(amazon_order_id, ''){extra_sql}, SUM(amount)
              FROM commerce_amazon_settlement_line
             WHERE settlement_id = %s
          GROUP BY 1, 2, 3, 4, 5{', 6' if extra else ''}
          ORDER BY 1, 2, 3, 4, 5""", (self.id,))
        return self.env.cr.fetchall()

    def _unmapped(self):
        self.ensure_one()
        keys = {group[:4] for group in self._groups()}
        return self.env["commerce.amazon.settlement.account"].resolve(self.backend_id, sorted(keys))[1]

    def _sale_orders(self, amazon_order_ids):
        """{AmazonOrderId: sale.order} of the orders imported by this backend."""
        ids = [i for i in amazon_order_ids if i]
        if not ids:
            return {}
        bindings = self.env["commerce.binding"].sudo().search([
            ("backend_id", "=", self.backend_id.id), ("res_model", "=", "sale.order"), ("external_id", "in", ids)])
        orders = self.env["sale.order"].browse(bindings.mapped("res_id")).exists()
        by_id = {order.id: order for order in orders}
        return {b.external_id: by_id[b.res_id] for b in bindings if b.res_id in by_id}

    def _journal(self):
        backend = self.backend_id
        if backend.amazon_settlement_journal_id:
            return backend.amazon_settlement_journal_id
        Journal = self.env["account.journal"].sudo().with_company(self.company_id)
        journal = Journal.search([*Journal._check_company_domain(self.company_id), ("code", "=", "AMZS")], limit=1) \
            or Journal.create({"name": _("Amazon Settlements"), "code": "AMZS", "type": "general",
                               "company_id": self.company_id.id})
        backend.sudo().amazon_settlement_journal_id = journal
        return journal

    def _deposit_account(self):
        return self.backend_id.amazon_settlement_deposit_account_id or \
            self.env["commerce.amazon.settlement.account"].role_account("deposit", self.company_id)

    def _order_receivable_account(self, order, default):
        """The receivable an order's invoices use, so the settlement line can reconcile with them."""
        invoices = order.invoice_ids.filtered(lambda m: m.state == "posted")
        line = invoices.line_ids.filtered(lambda l: l.account_id.account_type == "asset_receivable")[:1]
        if line:
            return line.account_id
        partner = order.partner_invoice_id.commercial_partner_id.with_company(self.company_id)
        return partner.property_account_receivable_id or default

    def _post(self):
        """One balanced journal entry: every (transaction type, amount type, amount description,
        marketplace) on its mapped account, order receivables per order, the net to the deposit account."""
        self.ensure_one()
        if self.move_id:
            return self.move_id
        groups = self._groups()
        Mapping = self.env["commerce.amazon.settlement.account"]
        resolved, missing = Mapping.resolve(self.backend_id, sorted({g[:4] for g in groups}))
        if missing:
            raise BusinessError(_unmapped_message(missing), detail={"unmapped": [list(k) for k in missing]})
        company = self.company_id
        orders = self._sale_orders({g[4] for g in groups})
        accounts, order_accounts = {}, {}
        lines = {}  # posting key -> {"account", "partner", "name", "order", "amount"}
        for transaction, amount_type, description, marketplace, order_id, amount in groups:
            row = resolved[(transaction, amount_type, description, marketplace)]
            if row.id not in accounts:
                accounts[row.id] = row._account(company)
            account = accounts[row.id]
            order = orders.get(order_id)
            if account.account_type == "asset_receivable" and order:
                if (order.id, account.id) not in order_accounts:
                    order_accounts[(order.id, account.id)] = self._order_receivable_account(order, account)
                account = order_accounts[(order.id, account.id)]
                key = ("order", account.id, order.id, transaction)
                values = {"name": _("%(type)s %(amazon)s (%(order)s)", type=transaction, amazon=order_id,
                                    order=order.name),
                          "partner": order.partner_invoice_id.commercial_partner_id, "order": order_id}
            else:
                key = ("type", account.id, transaction, amount_type, description, marketplace)
                values = {"name": " / ".join(p for p in (transaction, amount_type, description) if p)
                          + (f" ({marketplace})" if marketplace else ""), "partner": None, "order": False}
            entry = lines.setdefault(key, dict(values, account=account, amount=Decimal(0)))
            entry["amount"] += Decimal(str(amount))  # Odoo's cursor reads NUMERIC as float
        move = self.env["account.move"].sudo().with_company(company).create(self._move_values(lines.values()))
        move.action_post()
        self.write({"move_id": move.id, "state": "posted", "error_message": False})
        return move

    def _move_values(self, lines):
        company = self.company_id
        currency = self.currency_id
        date = (self.deposit_date or self.date_end or fields.Datetime.now()).date()
        foreign = currency != company.currency_id

        def balance_of(amount):
            return currency._convert(amount, company.currency_id, company, date) if foreign else amount

        commands, balance_sum = [], 0.0
        for line in lines:
            amount = float(-line["amount"])  # what Amazon credited us is credited here too
            if float_is_zero(amount, precision_rounding=currency.rounding):
                continue
            balance = balance_of(amount)
            balance_sum += balance
            commands.append(Command.create({
                "name": line["name"], "account_id": line["account"].id,
                "partner_id": line["partner"].id if line["partner"] else False,
                "amazon_settlement_order_id": line["order"], "currency_id": currency.id,
                "amount_currency": amount, "balance": balance}))
        # The deposit takes the rounding difference of the conversion: the entry always balances.
        deposit = float(self.total_amount)
        commands.append(Command.create({
            "name": _("Amazon payout %s", self.settlement_id), "account_id": self._deposit_account().id,
            "currency_id": currency.id, "amount_currency": deposit,
            "balance": company.currency_id.round(-balance_sum)}))
        return {"move_type": "entry", "journal_id": self._journal().id, "date": date, "currency_id": currency.id,
                "ref": _("Amazon settlement %s", self.settlement_id), "line_ids": commands}

    # -- reconciliation --------------------------------------------------------------------
    def _reconcile(self):
        """Match the order receivables with invoices and credit notes, the payout with the deposit.

        Writes the reconciliation report and compares every order with its financial events.
        """
        self.ensure_one()
        if not self.move_id:
            raise BusinessError(f"settlement {self.settlement_id} is not posted yet")
        backend = self.backend_id
        order_ids = sorted({g[4] for g in self._groups() if g[4]})
        orders = self._sale_orders(order_ids)
        receivables = defaultdict(lambda: self.env["account.move.line"])
        for line in self.move_id.line_ids.filtered("amazon_settlement_order_id"):
            receivables[line.amazon_settlement_order_id] |= line
        outcomes = []  # (AmazonOrderId, sale order name or "", document, ok, reason)
        for order_id in order_ids:
            order = orders.get(order_id)
            if not order:
                outcomes.append((order_id, "", "", False, _("no sale order in Odoo for this AmazonOrderId")))
                continue
            for line in receivables[order_id]:
                outcomes.append(self._reconcile_order_line(line, order, backend))
        deposit_ok, deposit_note = self._reconcile_deposit()
        self.env["sale.order"].browse([o.id for o in orders.values()])._amazon_refresh_settled()
        reconciled = sum(1 for o in outcomes if o[3])
        unreconciled = len(outcomes) - reconciled
        self.write({
            "reconciled_count": reconciled, "unreconciled_count": unreconciled, "deposit_reconciled": deposit_ok,
            "state": "reconciled" if deposit_ok and not unreconciled else "posted",
            "reconciliation_report": self._report_html(outcomes, deposit_ok, deposit_note),
        })
        return {"reconciled": reconciled, "unreconciled": unreconciled, "deposit": deposit_note}

    def _reconcile_order_line(self, line, order, backend):
        """Reconcile one order receivable line; ``(AmazonOrderId, order, document, ok, reason)``."""
        order_id = line.amazon_settlement_order_id
        if line.reconciled:
            return order_id, order.name, ", ".join(line.matched_debit_ids.debit_move_id.move_id.mapped("name")
                                                   + line.matched_credit_ids.credit_move_id.move_id.mapped("name")), \
                True, _("already reconciled")
        refund = line.balance > 0  # Amazon paid the buyer back: the credit note's counterpart
        move_type = "out_refund" if refund else "out_invoice"
        documents = order.invoice_ids.filtered(lambda m: m.move_type == move_type and m.state == "posted")
        if not documents and refund and backend.amazon_auto_credit_note:
            documents = self._create_credit_note(order, line)
        elif not documents and not refund and backend.amazon_auto_invoice and order.invoice_status == "to invoice":
            documents = order._create_invoices()
            documents.action_post()
        counterparts = documents.line_ids.filtered(
            lambda l: l.account_id == line.account_id and not l.reconciled and l.parent_state == "posted")
        if not counterparts:
            what = _("credit note") if refund else _("invoice")
            return order_id, order.name, "", False, _("no open posted %s for this order", what)
        (line | counterparts).reconcile()
        names = ", ".join(documents.mapped("name"))
        if line.reconciled and all(counterparts.mapped("reconciled")):
            return order_id, order.name, names, True, _("reconciled")
        if not line.reconciled:
            return order_id, order.name, names, False, _(
                "amounts differ: %(open)s of the settlement's %(amount)s left open",
                open=abs(line.amount_residual_currency), amount=abs(line.amount_currency))
        return order_id, order.name, names, False, _(
            "amounts differ: %(open)s of the documents left open after the settlement's %(amount)s",
            open=abs(sum(counterparts.mapped("amount_residual_currency"))), amount=abs(line.amount_currency))

    def _create_credit_note(self, order, line):
        """A credit note of what Amazon refunded (the settlement line's amount), on the order's products."""
        refunded = self._refunded_by_sku(line.amazon_settlement_order_id)
        commands = []
        for sku, amount in refunded.items():
            order_line = order.order_line.filtered(lambda l, s=sku: l.product_id.default_code == s)[:1] \
                or order.order_line.filtered(lambda l: not l.display_type)[:1]
            commands.append(Command.create({
                "product_id": order_line.product_id.id, "quantity": 1, "price_unit": float(amount),
                "name": _("Amazon refund %(sku)s", sku=sku or order_line.product_id.display_name),
                "tax_ids": [Command.clear()], "sale_line_ids": [Command.set(order_line.ids)]}))
        credit_note = self.env["account.move"].sudo().with_company(self.company_id).create({
            "move_type": "out_refund", "partner_id": order.partner_invoice_id.id, "currency_id": order.currency_id.id,
            "invoice_origin": order.name, "ref": _("Amazon refund %s", line.amazon_settlement_order_id),
            "invoice_line_ids": commands})
        credit_note.action_post()
        return credit_note

    def _refunded_by_sku(self, amazon_order_id):
        """{sku: refunded amount} of the refund rows of an order that book to a receivable."""
        Mapping = self.env["commerce.amazon.settlement.account"]
        groups = [g for g in self._groups(extra="sku") if g[4] == amazon_order_id and g[0] != "Order"]
        resolved, _missing = Mapping.resolve(self.backend_id, sorted({g[:4] for g in groups}))
        refunded = defaultdict(Decimal)
        for transaction, amount_type, description, marketplace, _order, sku, amount in groups:
            row = resolved.get((transaction, amount_type, description, marketplace))
            if row and row._account(self.company_id).account_type == "asset_receivable":
                refunded[sku] -= Decimal(str(amount))
        return {sku: amount for sku, amount in refunded.items() if amount}

    def _reconcile_deposit(self):
        """Match the payout line with a posted payment or bank line on the deposit account."""
        account = self._deposit_account()
        deposit = self.move_id.line_ids.filtered(lambda l: l.account_id == account)[:1]
        if not deposit:
            return False, _("no payout line (the settlement nets to zero)")
        if deposit.reconciled:
            return True, _("already reconciled")
        if not account.reconcile:
            return False, _("the deposit account %s does not allow reconciliation", account.display_name)
        candidates = self.env["account.move.line"].sudo().search([
            ("account_id", "=", account.id), ("move_id", "!=", self.move_id.id), ("parent_state", "=", "posted"),
            ("reconciled", "=", False), ("company_id", "=", self.company_id.id),
            ("currency_id", "=", deposit.currency_id.id)], order="date, id")
        match = candidates.filtered(lambda l: float_compare(
            l.amount_residual_currency, -deposit.amount_residual_currency,
            precision_rounding=deposit.currency_id.rounding) == 0)[:1] or self._statement_line_for(deposit, account)
        if not match:
            return False, _("no posted payment or bank statement line of %(amount)s %(currency)s on %(account)s yet",
                            amount=deposit.amount_currency, currency=deposit.currency_id.name,
                            account=account.display_name)
        (deposit | match).reconcile()
        return bool(deposit.reconciled), _("matched with %s", match.move_id.name)

    def _statement_line_for(self, deposit, account):
        """The suspense line of an unreconciled bank statement line of the payout's amount, moved to
        the payout clearing account so both reconcile (what the bank reconciliation would do)."""
        amount = deposit.amount_currency
        statement_lines = self.env["account.bank.statement.line"].sudo().search([
            ("company_id", "=", self.company_id.id), ("is_reconciled", "=", False), ("state", "=", "posted"),
            "|", ("amount", "=", amount), ("amount_currency", "=", amount)], order="date, id")
        for statement_line in statement_lines:
            _liquidity, suspense, _other = statement_line._seek_for_lines()
            if len(suspense) == 1 and suspense.currency_id == deposit.currency_id and not float_compare(
                    suspense.amount_currency, -amount, precision_rounding=deposit.currency_id.rounding):
                statement_line.move_id.with_context(skip_readonly_check=True).write(
                    {"line_ids": [Command.update(suspense.id, {"account_id": account.id})]})
                return suspense
        return self.env["account.move.line"]

    def _type_totals(self):
        self.env.cr.execute("""
            SELECT transaction_type, amount_type, COUNT(*), SUM(amount)
              FROM commerce_amazon_settlement_line WHERE settlement_id = %s
          GROUP BY 1, 2 ORDER BY 1, 2""", (self.id,))
        return self.env.cr.fetchall()

    def _report_html(self, outcomes, deposit_ok, deposit_note):
        def table(headers, rows):
            head = Markup("").join(Markup("<th>%s</th>") % h for h in headers)
            body = Markup("").join(
                Markup("<tr>%s</tr>") % Markup("").join(Markup("<td>%s</td>") % cell for cell in row) for row in rows)
            return Markup('<table class="table table-sm"><thead><tr>%s</tr></thead><tbody>%s</tbody></table>') % (
                head, body)

        totals = [(t, a, n, f"{s:.2f}") for t, a, n, s in self._type_totals()]
        done = [(o[0], o[1], o[2], o[4]) for o in outcomes if o[3]]
        open_ = [(o[0], o[1], o[2], o[4]) for o in outcomes if not o[3]]
        more = _("(the first %s shown)", REPORT_MAX_ROWS)
        parts = [
            Markup("<h4>%s</h4>") % _("Totals per type"),
            table([_("Transaction type"), _("Amount type"), _("Lines"), _("Amount")], totals),
            Markup("<h4>%s</h4>") % _("Deposit"),
            Markup("<p>%s: %s</p>") % (_("Reconciled") if deposit_ok else _("Not reconciled"), deposit_note),
            Markup("<h4>%s (%s) %s</h4>") % (_("Reconciled"), len(done), more if len(done) > REPORT_MAX_ROWS else ""),
            table([_("Amazon order"), _("Sale order"), _("Documents"), _("Note")], done[:REPORT_MAX_ROWS]),
            Markup("<h4>%s (%s) %s</h4>") % (_("Not reconciled"), len(open_),
                                            more if len(open_) > REPORT_MAX_ROWS else ""),
            table([_("Amazon order"), _("Sale order"), _("Documents"), _("Why")], open_[:REPORT_MAX_ROWS]),
        ]
        return Markup("").join(parts)

    # -- user actions ----------------------------------------------------------------------
    def action_post(self):
        for settlement in self:
            settlement._post()
            settlement._reconcile()
        return True

    def action_reconcile(self):
        for settlement in self:
            settlement._reconcile()
        return True

    def action_open_move(self):
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": "account.move", "res_id": self.move_id.id,
                "view_mode": "form", "target": "current"}


def _unmapped_message(missing):
    listed = "; ".join(" / ".join(part or "(empty)" for part in key) for key in missing)
    return (f"{len(missing)} settlement amount combination(s) have no account mapping (transaction type / amount "
            f"type / amount description / marketplace): {listed}. Add them under Amazon Settlement Accounts and "
            f"retry.")

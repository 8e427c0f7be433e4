"""Amazon settlements end to end: cron -> getReports -> getReportDocument -> download (gzip, charset) ->
streamed parse -> settlement and lines -> balanced journal entry -> reconciliation with invoices,
credit notes and the payout."""

import gzip
import io
import os
from decimal import Decimal

from odoo.tests import tagged
from odoo.tools import float_compare

from ..channels.amazon import reports
from ..channels.amazon.settlement import read_settlement
from ..core.errors import PayloadValidationError
from .test_amazon_orders import AmazonCase, status_of

SAMPLE_PATH = os.path.join(os.path.dirname(__file__), "data", "settlement-v2-sample.tsv")
SAMPLE_TOTAL = 23.12
REPORT_TYPE = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"


def sample_bytes():
    with open(SAMPLE_PATH, "rb") as handle:
        return handle.read()


def sample_lines():
    return sample_bytes().decode("utf-8").split("\n")


def replace_line(text_lines, number, column, value, **more):
    """The sample with the cell ``column`` of line ``number`` (1-based) set to ``value``; ``more``
    sets other cells of that line (``amount_type="..."`` for amount-type)."""
    header = text_lines[0].split("\t")
    cells = text_lines[number - 1].split("\t")
    cells[header.index(column)] = value
    for name, other in more.items():
        cells[header.index(name.replace("_", "-"))] = other
    lines = list(text_lines)
    lines[number - 1] = "\t".join(cells)
    return "\n".join(lines).encode("utf-8")


class SettlementCase(AmazonCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Invoiced on order: MFN orders the simulator ships are not delivered in Odoo by the test.
        cls.products.product_tmpl_id.write({"invoice_policy": "order"})

    def import_settlements(self):
        """What the cron does, then the runner until no job is due."""
        self.env["commerce.backend"]._cron_amazon_settlements()
        return self.run_jobs()

    def settlements(self):
        return self.env["commerce.amazon.settlement"].search([("backend_id", "=", self.backend.id)])

    def assertBalanced(self, move):
        self.assertEqual(move.state, "posted")
        self.assertFalse(float_compare(sum(move.line_ids.mapped("debit")), sum(move.line_ids.mapped("credit")),
                                       precision_digits=2), "the entry balances")
        self.assertFalse(float_compare(sum(move.line_ids.mapped("amount_currency")), 0.0, precision_digits=2))

    def deposit_line(self, settlement):
        account = settlement._deposit_account()
        return settlement.move_id.line_ids.filtered(lambda l: l.account_id == account)


@tagged("post_install", "-at_install")
class TestSettlementImport(SettlementCase):

    def test_sample_imports_gzipped_to_a_balanced_entry_whose_net_is_the_total(self):
        self.sim.add_settlement_report(sample_bytes(), compress=True, send_charset=False)

        self.env.ref("commerce_connector.ir_cron_amazon_settlements").method_direct_trigger()
        self.run_jobs()

        self.assertAllJobsDone()
        settlement = self.settlements()
        self.assertEqual(len(settlement), 1)
        self.assertEqual(settlement.settlement_id, "18234567891")
        self.assertEqual(settlement.currency_id, self.env.ref("base.USD"))
        self.assertEqual(settlement.line_count, 29)
        self.assertEqual(len(settlement.line_ids), 29)
        self.assertEqual(str(settlement.date_start), "2024-05-01 08:12:33")
        self.assertEqual(str(settlement.deposit_date), "2024-05-17 08:12:33")
        self.assertFalse(float_compare(sum(settlement.line_ids.mapped("amount")), SAMPLE_TOTAL, precision_digits=2))
        refund = settlement.line_ids.filtered(lambda l: l.transaction_type == "Refund"
                                              and l.amount_description == "Principal")
        self.assertEqual((refund.amount, refund.sku, str(refund.posted_date)), (-14.99, "BLUE-MUG-12", "2024-05-09"))
        move = settlement.move_id
        self.assertBalanced(move)
        self.assertEqual(settlement.state, "posted", "posted; the payout is not in the bank yet")
        self.assertEqual(move.journal_id, self.backend.amazon_settlement_journal_id)
        self.assertEqual(move.currency_id, settlement.currency_id)
        deposit = self.deposit_line(settlement)
        self.assertEqual(deposit.amount_currency, SAMPLE_TOTAL, "the net deposit is the report's total-amount")
        fees = move.line_ids.filtered(lambda l: l.account_id.code == "AMZ6100")
        fba = move.line_ids.filtered(lambda l: l.account_id.code == "AMZ6110")
        self.assertFalse(float_compare(sum(fees.mapped("balance")), 4.50 + 3.38 + 5.99 - 2.25 + 0.45 + 39.99,
                                       precision_digits=2), "Amazon fees and the subscription are expenses")
        self.assertFalse(float_compare(sum(fba.mapped("balance")), 7.70 + 4.25 + 3.17, precision_digits=2))
        reserve = move.line_ids.filtered(lambda l: l.account_id.code == "AMZ1190")
        self.assertFalse(float_compare(sum(reserve.mapped("balance")), -58.20 + 30.15, precision_digits=2))
        tax = move.line_ids.filtered(lambda l: l.account_id.code == "AMZ2100")
        self.assertFalse(float_compare(sum(tax.mapped("balance")), 0.0, precision_digits=2),
                         "tax collected and withheld by Amazon cancel out")
        download = self.sim.recorder.calls(operation="downloadReportDocument")
        self.assertEqual(len(download), 1)
        self.assertFalse(self.sim.recorder.calls(operation="createReport"), "settlement reports are never requested")
        listing = self.sim.recorder.calls(operation="getReports")[0]
        self.assertEqual(listing.query["reportTypes"], [REPORT_TYPE])
        self.assertIn("not reconciled", settlement.reconciliation_report.lower())
        self.assertEqual(self.sim.response_validation_errors, [])

    def test_a_report_imported_twice_creates_nothing(self):
        body = sample_bytes()
        self.sim.add_settlement_report(body)
        self.import_settlements()
        settlement = self.settlements()
        moves = self.env["account.move"].search_count([])

        self.import_settlements()  # the same report listed again
        self.sim.add_settlement_report(body, compress=True)  # the same settlement under another reportId
        self.import_settlements()

        self.assertAllJobsDone()
        self.assertEqual(self.settlements(), settlement)
        self.assertEqual(self.env["account.move"].search_count([]), moves)
        self.assertEqual(len(self.jobs("amazon.settlement.import")), 2, "one import job per report")
        self.assertEqual(len(self.sim.recorder.calls(operation="downloadReportDocument")), 2,
                         "each report is downloaded once")
        self.assertIn("already imported", self.jobs("amazon.settlement.import")[-1].result)
        self.assertEqual(len(self.jobs("amazon.settlement.post")), 1)

    def test_unmapped_combination_is_a_business_job_listing_it_and_posts_nothing(self):
        lines = sample_lines()
        # Line 27 is the Storage Fee: now a new fee Amazon invented, and the total still adds up.
        body = replace_line(lines, 27, "transaction-type", "Vine Enrollment", amount_type="Vine Fee")
        self.sim.add_settlement_report(body)
        moves = self.env["account.move"].search_count([])

        self.import_settlements()

        settlement = self.settlements()
        self.assertEqual(settlement.state, "error")
        self.assertEqual(settlement.line_count, 29, "the lines are kept")
        post = self.jobs("amazon.settlement.post")
        self.assertEqual((post.state, post.error_kind), ("failed", "business"))
        self.assertIn("Vine Enrollment / Vine Fee / Storage Fee / Amazon.com", post.error_message)
        self.assertIn("Vine Enrollment", settlement.error_message)
        self.assertFalse(settlement.move_id)
        self.assertEqual(self.env["account.move"].search_count([]), moves, "nothing is posted half")

        self.env["commerce.amazon.settlement.account"].create({
            "backend_id": self.backend.id, "transaction_type": "Vine Enrollment", "account_role": "fees"})
        post.action_retry()
        self.run_jobs()

        self.assertEqual(post.state, "done")
        self.assertBalanced(settlement.move_id)
        self.assertEqual(settlement.state, "posted")
        self.assertFalse(settlement.error_message)

    def test_settlement_in_a_foreign_currency_posts_in_it_balanced_in_company_currency(self):
        company_currency = self.env.company.currency_id
        foreign = self.env.ref("base.EUR") if company_currency != self.env.ref("base.EUR") \
            else self.env.ref("base.USD")
        foreign.active = True
        self.env["res.currency.rate"].create({"currency_id": foreign.id, "name": "2024-05-01", "rate": 0.8,
                                              "company_id": self.env.company.id})
        self.sim.add_settlement_report(replace_line(sample_lines(), 2, "currency", foreign.name))

        self.import_settlements()

        self.assertAllJobsDone()
        settlement = self.settlements()
        self.assertEqual(settlement.currency_id, foreign)
        move = settlement.move_id
        self.assertBalanced(move)
        self.assertEqual(move.currency_id, foreign)
        deposit = self.deposit_line(settlement)
        self.assertEqual(deposit.amount_currency, SAMPLE_TOTAL)
        self.assertEqual(deposit.currency_id, foreign)
        self.assertFalse(float_compare(deposit.balance, SAMPLE_TOTAL / 0.8, precision_digits=1),
                         "converted at the rate of the deposit date")

    def test_european_number_and_date_formats_in_windows_1252(self):
        lines = sample_lines()
        text = "\n".join(lines).replace("Amazon.com", "Amazon.de").replace("Subscription Fee", "Abonnementgebühr")
        text = text.replace("2024-05-01 08:12:33 UTC", "01.05.2024 08:12:33 UTC")
        converted = []
        for number, line in enumerate(text.split("\n"), start=1):
            cells = line.split("\t")
            if number >= 2 and len(cells) > 14:
                for position in (4, 14):
                    cells[position] = cells[position].replace(".", ",")
            converted.append("\t".join(cells))
        body = "\n".join(converted).encode("windows-1252")
        self.env["commerce.amazon.settlement.account"].create({
            "backend_id": self.backend.id, "amount_description": "Abonnementgebühr", "account_role": "fees"})
        self.sim.add_settlement_report(body, compress=True, send_charset=False)

        self.import_settlements()

        self.assertAllJobsDone()
        settlement = self.settlements()
        self.assertEqual(str(settlement.date_start), "2024-05-01 08:12:33")
        self.assertEqual(settlement.total_amount, SAMPLE_TOTAL)
        subscription = settlement.line_ids.filtered(lambda l: l.amount_description == "Abonnementgebühr")
        self.assertEqual(subscription.amount, -39.99, "decoded with the backend's charset, decimal comma")
        self.assertBalanced(settlement.move_id)

    def test_reports_are_listed_page_by_page_and_only_done_ones_are_imported(self):
        body = sample_bytes()
        done = [self.sim.add_settlement_report(body) for _ in range(3)]
        self.sim.add_settlement_report(body, processing_status="IN_PROGRESS")
        client = self.backend._amazon_client()

        first, token = reports.list_reports(client, [REPORT_TYPE], page_size=2)
        second, last = reports.list_reports(client, [REPORT_TYPE], next_token=token)

        self.assertEqual(sorted(r["reportId"] for r in first + second), sorted(done))
        self.assertTrue(token)
        self.assertFalse(last)
        self.assertEqual(self.sim.recorder.calls(operation="getReports")[1].query.get("nextToken"), [token])
        report = client._call("getReport", lambda api: api.get_report(done[0]), expect="reportId",
                              api_class=reports.REPORTS_API)
        self.assertEqual((report["reportId"], report["processingStatus"]), (done[0], "DONE"))
        self.import_settlements()
        self.assertEqual(len(self.jobs("amazon.settlement.import")), 3, "IN_PROGRESS reports wait")
        self.assertEqual(len(self.settlements()), 1, "three reports of one settlement: one settlement")

    def test_the_charset_of_the_download_wins_over_the_backend_default(self):
        self.backend.amazon_report_charset = "utf-8"
        body = sample_bytes().replace(b"Subscription Fee", "Abonnementgebühr".encode("windows-1252"))
        self.env["commerce.amazon.settlement.account"].create({
            "backend_id": self.backend.id, "amount_description": "Abonnementgebühr", "account_role": "fees"})
        self.sim.add_settlement_report(body, charset="windows-1252")

        self.import_settlements()

        self.assertAllJobsDone()
        download = self.sim.recorder.calls(operation="downloadReportDocument")[0]
        self.assertEqual(download.status, 200)
        self.assertTrue(self.settlements().line_ids.filtered(lambda l: l.amount_description == "Abonnementgebühr"))

    def test_broken_row_fails_validation_naming_line_and_column_and_imports_nothing(self):
        self.sim.add_settlement_report(replace_line(sample_lines(), 7, "amount", "12,3x"))

        self.import_settlements()

        job = self.jobs("amazon.settlement.import")
        self.assertEqual((job.state, job.error_kind), ("failed", "validation"))
        self.assertIn("line 7, column amount", job.error_message)
        self.assertFalse(self.settlements(), "nothing is imported half")
        self.assertFalse(self.env["commerce.amazon.settlement.line"].search_count(
            [("settlement_id.backend_id", "=", self.backend.id)]))


@tagged("post_install", "-at_install")
class TestSettlementParser(SettlementCase):
    """The parser alone, on the shipped sample and broken variants of it."""

    def parse(self, body, charset="utf-8", compression=None):
        reader = read_settlement(io.BytesIO(body), charset, compression)
        return reader.header, list(reader.rows())

    def test_sample_header_rows_and_gzip(self):
        header, rows = self.parse(gzip.compress(sample_bytes()), compression="GZIP")
        self.assertEqual((header.settlement_id, header.currency, header.total_amount),
                         ("18234567891", "USD", Decimal("23.12")))
        self.assertEqual(len(rows), 29)
        self.assertEqual(sum(row.amount for row in rows), header.total_amount)
        self.assertEqual(rows[0].quantity, 2)
        self.assertEqual(rows[16].promotion_id, "US Core Free Shipping Promotion 2171864127")
        self.assertEqual(rows[0].line_number, 3)

    def test_broken_rows_name_line_and_column(self):
        lines = sample_lines()
        cases = [
            (replace_line(lines, 5, "amount", "abc"), "line 5, column amount"),
            (replace_line(lines, 9, "posted-date", "2024-13-45"), "line 9, column posted-date"),
            (replace_line(lines, 11, "quantity-purchased", "two"), "line 11, column quantity-purchased"),
            (replace_line(lines, 4, "settlement-id", "999"), "line 4, column settlement-id"),
            (replace_line(lines, 2, "total-amount", "23.13"), "add up to 23.12"),
            ("\n".join(lines[:3] + [lines[3] + "\textra\tcells"] + lines[4:]).encode(), "line 4: 26 fields"),
            (b"settlement-id\tprice-type\titem-related-fee-type\n", "retired V1"),
            (b"", "empty"),
        ]
        for body, expected in cases:
            with self.subTest(expected=expected), self.assertRaises(PayloadValidationError) as caught:
                self.parse(body)
            self.assertIn(expected, caught.exception.message)

    def test_undecodable_bytes_and_unknown_charset(self):
        body = sample_bytes().replace(b"Storage Fee", b"Storage \xff Fee")
        with self.assertRaises(PayloadValidationError) as caught:
            self.parse(body, charset="utf-8")
        self.assertIn("line 27", caught.exception.message)
        with self.assertRaises(PayloadValidationError):
            self.parse(sample_bytes(), charset="no-such-charset")
        _header, rows = self.parse(body, charset="latin-1")
        self.assertEqual(rows[24].amount_description, "Storage \xff Fee")


@tagged("post_install", "-at_install")
class TestSettlementReconciliation(SettlementCase):

    def imported_shipped_orders(self, count=20):
        self.sim.generate_orders(count)
        self.poll()
        shipped = [oid for oid in self.stored(lambda o: status_of(o) == "SHIPPED") if self.sale_order(oid)]
        invoiceable = [oid for oid in shipped if self.sale_order(oid).invoice_status == "to invoice"]
        self.assertGreaterEqual(len(invoiceable), 3, "the generator ships enough orders")
        return invoiceable

    def test_order_receivables_match_invoices_credit_notes_and_the_payout(self):
        order_ids = self.imported_shipped_orders()[:4]
        refunded = self.sim.order(order_ids[0])
        refund_sku = refunded["orderItems"][0]["product"]["sellerSku"]
        # The first order is invoiced by hand; the others by the settlement.
        first = self.sale_order(order_ids[0])
        first._create_invoices().action_post()
        self.backend.write({"amazon_auto_invoice": True, "amazon_auto_credit_note": True})
        _report, settlement_id = self.sim.generate_settlement(order_ids=order_ids, refunds=[(order_ids[0], refund_sku,
                                                                                               "5.00")])
        self.import_settlements()

        self.assertAllJobsDone()
        settlement = self.settlements()
        self.assertEqual(settlement.settlement_id, settlement_id)
        self.assertBalanced(settlement.move_id)
        receivables = settlement.move_id.line_ids.filtered("amazon_settlement_order_id")
        self.assertEqual(sorted(set(receivables.mapped("amazon_settlement_order_id"))), sorted(order_ids))
        self.assertTrue(all(receivables.mapped("reconciled")), settlement.reconciliation_report)
        for order_id in order_ids:
            order = self.sale_order(order_id)
            invoices = order.invoice_ids.filtered(lambda m: m.move_type == "out_invoice")
            with self.subTest(order=order_id):
                self.assertEqual(invoices.mapped("state"), ["posted"])
                self.assertEqual(invoices.payment_state, "paid", "the settlement paid the invoice")
        credit_note = first.invoice_ids.filtered(lambda m: m.move_type == "out_refund")
        self.assertEqual(credit_note.amount_total, 5.0)
        self.assertTrue(credit_note.line_ids.filtered(lambda l: l.account_id.account_type == "asset_receivable")
                        .reconciled, "the settlement's refund line settled the credit note")
        self.assertEqual(settlement.reconciled_count, len(receivables))
        self.assertEqual(settlement.unreconciled_count, 0)
        self.assertEqual(settlement.state, "posted", "the payout has not reached the bank yet")
        self.assertIn("no posted payment", settlement.reconciliation_report)

        # The bank transfer arrives: a payment booked to the payout clearing account.
        bank = self.env["account.journal"].search([("type", "=", "bank"), ("company_id", "=", self.env.company.id)],
                                                  limit=1)
        payment = self.env["account.payment"].create({
            "payment_type": "inbound", "partner_type": "customer", "amount": settlement.total_amount,
            "currency_id": settlement.currency_id.id, "journal_id": bank.id,
            "destination_account_id": settlement._deposit_account().id, "date": settlement.deposit_date.date()})
        payment.action_post()
        settlement.action_reconcile()

        self.assertTrue(settlement.deposit_reconciled)
        self.assertEqual(settlement.state, "reconciled")
        self.assertTrue(self.deposit_line(settlement).reconciled)

    def test_the_payout_matches_a_bank_statement_line(self):
        self.sim.add_settlement_report(sample_bytes())
        self.import_settlements()
        settlement = self.settlements()
        self.assertFalse(settlement.deposit_reconciled)
        bank = self.env["account.journal"].search([("type", "=", "bank"), ("company_id", "=", self.env.company.id)],
                                                  limit=1)
        other = self.env["account.bank.statement.line"].create({
            "journal_id": bank.id, "date": "2024-05-17", "payment_ref": "Card payment", "amount": 23.13})
        transfer = self.env["account.bank.statement.line"].create({
            "journal_id": bank.id, "date": "2024-05-17", "payment_ref": "AMAZON PAYMENTS 18234567891",
            "amount": SAMPLE_TOTAL})

        settlement.action_reconcile()

        self.assertTrue(settlement.deposit_reconciled, settlement.reconciliation_report)
        self.assertTrue(transfer.is_reconciled)
        self.assertFalse(other.is_reconciled, "only the payout's amount matches")
        self.assertTrue(self.deposit_line(settlement).reconciled)

    def test_orders_without_invoice_or_unknown_are_reported_not_reconciled(self):
        order_ids = self.imported_shipped_orders()[:2]
        self.sim.generate_settlement(order_ids=order_ids)
        self.import_settlements()

        self.assertAllJobsDone()
        settlement = self.settlements()
        self.assertEqual(settlement.unreconciled_count, 2)
        self.assertEqual(settlement.reconciled_count, 0)
        self.assertIn("no open posted invoice", settlement.reconciliation_report)

        # Invoiced later: reconciling again matches them.
        for order_id in order_ids:
            self.sale_order(order_id)._create_invoices().action_post()
        settlement.action_reconcile()
        self.assertEqual((settlement.reconciled_count, settlement.unreconciled_count), (2, 0))

    def test_a_settlement_order_missing_in_odoo_is_named_in_the_report(self):
        self.sim.add_settlement_report(sample_bytes())
        self.import_settlements()
        settlement = self.settlements()
        self.assertIn("112-4567890-1234567", settlement.reconciliation_report)
        self.assertIn("no sale order in Odoo", settlement.reconciliation_report)
        self.assertFalse(settlement.move_id.line_ids.filtered("amazon_settlement_order_id"),
                         "orders unknown to Odoo stay aggregated by type")

    def test_partial_payment_of_an_invoice_is_reported_with_the_open_amount(self):
        order_id = self.imported_shipped_orders()[0]
        order = self.sale_order(order_id)
        settled_total = order.amount_total
        invoice = order._create_invoices()
        invoice.invoice_line_ids[:1].price_unit += 7.0  # invoiced more than Amazon collected
        invoice.action_post()
        self.assertGreater(invoice.amount_total, settled_total)
        self.sim.generate_settlement(order_ids=[order_id])
        self.import_settlements()

        settlement = self.settlements()
        self.assertEqual(settlement.unreconciled_count, 1, settlement.reconciliation_report)
        self.assertIn("left open", settlement.reconciliation_report)
        self.assertEqual(invoice.payment_state, "partial")
        self.assertFalse(float_compare(invoice.amount_residual, invoice.amount_total - settled_total,
                                       precision_digits=2), "exactly the extra invoiced amount is left open")

    def test_bench_generator_lines_match_orders(self):
        report_id, _settlement = self.sim.generate_settlement(lines=500, compress=True)
        self.assertIn(report_id, [r["reportId"] for r in self.sim.reports()])
        self.import_settlements()
        settlement = self.settlements()
        self.assertEqual(settlement.line_count, 500)
        self.assertBalanced(settlement.move_id)
        known = set(self.sim.order_ids())
        self.assertTrue(set(settlement.line_ids.filtered("amazon_order_id").mapped("amazon_order_id")) <= known)

/* global ace */
import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

// tests/test_tour.py seeds one failed `clarity.order.import` job whose stored body lost its last
// closing brace, and checks afterwards what these steps typed and clicked.

const menu = (xmlid) => `.o_main_navbar [data-menu-xmlid="commerce_connector.${xmlid}"]`;

registry.category("web_tour.tours").add("commerce_connector_tour", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("commerce_connector.menu_commerce_root", "Open the Commerce app"),

        // 1. Configure a Clarity backend in the form view
        {
            content: "Open the backends",
            trigger: menu("menu_commerce_backends"),
            run: "click",
        },
        {
            content: "Create a backend",
            trigger: ".o_control_panel_main_buttons .o-kanban-button-new",
            run: "click",
        },
        {
            content: "Name it",
            trigger: ".o_form_view .o_field_widget[name=name] input",
            run: "edit Tour web store",
        },
        {
            content: "Clarity eCommerce channel",
            trigger: ".o_form_view .o_field_widget[name=channel] select",
            run: 'select "clarity"',
        },
        {
            content: "Storefront URL",
            trigger: ".o_form_view .o_field_widget[name=clarity_base_url] input",
            run: "edit https://tour-store.example.com",
        },
        {
            content: "OAuth client id",
            trigger: ".o_form_view .o_field_widget[name=clarity_client_id] input",
            run: "edit tour-client",
        },
        {
            content: "OAuth client secret",
            trigger: ".o_form_view .o_field_widget[name=clarity_client_secret] input",
            run: "edit tour-secret-value",
        },
        ...stepUtils.saveForm(),

        // 2. The failed job in the dead-letter list (the Jobs menu opens on the Failed filter)
        {
            content: "Open the jobs",
            trigger: menu("menu_commerce_jobs"),
            run: "click",
        },
        {
            content: "Open the failed order import",
            trigger: ".o_list_view .o_data_row:has(.o_data_cell[name=state]:contains(failed)) .o_data_cell[name=job_type]:contains(clarity.order.import)",
            run: "click",
        },
        {
            content: "The form explains why it failed",
            trigger: ".o_form_view .alert-danger:contains(not valid JSON)",
        },

        // 3. Fix the payload in the wizard, without retrying yet
        {
            content: "Fix the payload",
            trigger: ".o_form_view .o_form_statusbar button[name=action_edit_payload]",
            run: "click",
        },
        {
            content: "The wizard flags the stored body as broken",
            trigger: ".modal .alert-warning:contains(Not valid JSON)",
        },
        {
            content: "Put back the missing closing brace",
            trigger: ".modal .o_field_widget[name=payload] .ace_editor",
            run() {
                const editor = ace.edit(this.anchor);
                editor.navigateFileEnd();
                editor.insert("}");
            },
        },
        {
            content: "Retry from the list instead",
            trigger: ".modal .o_field_widget[name=retry_now] input",
            run: "uncheck",
        },
        {
            content: "Save the payload",
            trigger: ".modal footer button[name=action_apply]",
            run: "click",
        },
        {
            content: "The wizard closed; the job waits for a retry",
            trigger: "body:not(:has(.modal)) .o_form_view .o_form_statusbar button[name=action_retry]",
        },

        // 4. Retry it from the list view
        {
            content: "Back to the list",
            trigger: ".o_control_panel .breadcrumb-item a:contains(Jobs)",
            run: "click",
        },
        {
            content: "Select the failed job",
            trigger: ".o_list_view .o_data_row:has(.o_data_cell[name=job_type]:contains(clarity.order.import)) .o_list_record_selector input",
            run: "click",
        },
        {
            content: "Retry the selection",
            trigger: ".o_control_panel button[name=action_retry]",
            run: "click",
        },
        {
            content: "It left the failed list",
            trigger: ".o_list_view:not(:has(.o_data_row .o_data_cell[name=job_type]:contains(clarity.order.import)))",
        },

        // 5. The dashboard shows the new backend
        {
            content: "Open the dashboard",
            trigger: menu("menu_commerce_dashboard"),
            run: "click",
        },
        {
            content: "The backend has its card",
            trigger: ".o_commerce_dashboard_kanban .o_kanban_record:contains(Tour web store)",
        },
    ],
});

/** The example project of the issue (the public interface), as YAML text and as a parsed value. */
import { parse } from 'yaml';

export const EXAMPLE_YAML = `version: 1
state: .panelsync/state.db
sources:
  chinook: { type: sqlite, path: data/chinook.sqlite }
destinations:
  panel:
    type: user-interviews
    api_key: "\${UI_API_KEY}"
    environment: sandbox
    base_url: http://127.0.0.1:4010/api
models:
  customers:
    source: chinook
    primary_key: CustomerId
    sql: SELECT ... FROM Customer c LEFT JOIN Invoice i ON ... GROUP BY c.CustomerId
syncs:
  customers-to-panel:
    model: customers
    destination: panel
    mode: upsert
    match: Email
    mappings:
      - { from: FirstName, to: first_name }
      - { from: Phone, to: phone_number }
      - { from: lifetime_value, to: characteristics.lifetime_value }
      - { static: chinook, to: characteristics.source }
      - { template: "{{ row.City }}, {{ row.Country }}", to: characteristics.location }
    delete_behavior: do_nothing
    split_retries: true
`;

export const EXAMPLE_ENV = { UI_API_KEY: 'ui-key-7f3a9c' };

/** A fresh parsed copy of the example, to change in one test. */
export function exampleRaw(): any {
  return parse(EXAMPLE_YAML);
}

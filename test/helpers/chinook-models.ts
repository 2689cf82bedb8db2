/**
 * The Chinook "customers" model written once per dialect, aliased to the same column names, so
 * that every engine yields identical rows (same JSON). Shared by source, engine and e2e tests.
 *
 * Columns: CustomerId (number), FirstName, LastName, Company, City, State, Country, Phone, Email
 * (string or null), lifetime_value (SUM of the customer's invoice totals as an exact decimal
 * string with 2 places, `"39.62"`), last_invoice_at (ISO 8601 UTC, `"2025-12-22T00:00:00.000Z"`).
 * Ordered by CustomerId.
 *
 * What a model author must do per engine (the sources return what the engine's types say):
 * - PostgreSQL: nothing; `numeric` is already an exact string and `timestamp` an ISO instant.
 *   The dump uses snake_case (customer.customer_id), hence the aliases.
 * - MySQL/MariaDB: nothing; `DECIMAL` sums are exact strings and `DATETIME` is read as UTC.
 * - SQLite: no decimal or timestamp types. `Total` is stored as REAL, so the sum is formatted
 *   with `printf('%.2f', …)`; `InvoiceDate` is text (`"2021-01-01 00:00:00"`), so it is
 *   formatted with `strftime('%Y-%m-%dT%H:%M:%fZ', …)`.
 */

/** The customers model for the Chinook PostgreSQL database (test/fixtures/chinook). */
export const CHINOOK_CUSTOMERS_POSTGRES = `
SELECT
  c.customer_id AS "CustomerId",
  c.first_name AS "FirstName",
  c.last_name AS "LastName",
  c.company AS "Company",
  c.city AS "City",
  c.state AS "State",
  c.country AS "Country",
  c.phone AS "Phone",
  c.email AS "Email",
  ROUND(COALESCE(SUM(i.total), 0), 2) AS lifetime_value,
  MAX(i.invoice_date) AS last_invoice_at
FROM customer c
LEFT JOIN invoice i ON i.customer_id = c.customer_id
GROUP BY c.customer_id
ORDER BY c.customer_id
`;

/** The customers model for the Chinook MySQL/MariaDB database (test/fixtures/chinook). */
export const CHINOOK_CUSTOMERS_MYSQL = `
SELECT
  c.CustomerId AS CustomerId,
  c.FirstName AS FirstName,
  c.LastName AS LastName,
  c.Company AS Company,
  c.City AS City,
  c.State AS State,
  c.Country AS Country,
  c.Phone AS Phone,
  c.Email AS Email,
  ROUND(COALESCE(SUM(i.Total), 0), 2) AS lifetime_value,
  MAX(i.InvoiceDate) AS last_invoice_at
FROM Customer c
LEFT JOIN Invoice i ON i.CustomerId = c.CustomerId
GROUP BY c.CustomerId, c.FirstName, c.LastName, c.Company, c.City, c.State, c.Country, c.Phone, c.Email
ORDER BY c.CustomerId
`;

/** The customers model for examples/chinook/data/chinook.sqlite. */
export const CHINOOK_CUSTOMERS_SQLITE = `
SELECT
  c.CustomerId AS CustomerId,
  c.FirstName AS FirstName,
  c.LastName AS LastName,
  c.Company AS Company,
  c.City AS City,
  c.State AS State,
  c.Country AS Country,
  c.Phone AS Phone,
  c.Email AS Email,
  printf('%.2f', COALESCE(SUM(i.Total), 0)) AS lifetime_value,
  strftime('%Y-%m-%dT%H:%M:%fZ', MAX(i.InvoiceDate)) AS last_invoice_at
FROM Customer c
LEFT JOIN Invoice i ON i.CustomerId = c.CustomerId
GROUP BY c.CustomerId
ORDER BY c.CustomerId
`;

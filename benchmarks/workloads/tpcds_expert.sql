-- A published TPC-DS index set for MariaDB: Benchmark-Experiment-Host-Manager (Patrick K.
-- Erdelt, Beuth University), experiments/tpcds/MariaDB/initindexes-tpcds.sql
-- (github.com/Beuth-Erdelt/Benchmark-Experiment-Host-Manager): foreign-key indexes of the
-- fact tables, plus a few on customer, customer_address, date_dim and call_center.
-- Restated here (schema qualifier dropped) with these left out, as redundant on our schema:
--   the exact duplicate idx_catalog_returns_order (= idx_catalog_returns_order_number);
--   the left prefixes of our primary keys (InnoDB clusters on them): the *_item_sk indexes of
--   store_sales, catalog_sales, web_sales, store_returns, catalog_returns, web_returns, and
--   inventory (inv_date_sk).
CREATE INDEX idx_store_sales_customer_id ON store_sales (ss_customer_sk);
CREATE INDEX idx_store_sales_promo_id ON store_sales (ss_promo_sk);
CREATE INDEX idx_store_sales_store_id ON store_sales (ss_store_sk);
CREATE INDEX idx_store_sales_date_id ON store_sales (ss_sold_date_sk);
CREATE INDEX idx_catalog_sales_customer_id ON catalog_sales (cs_bill_customer_sk);
CREATE INDEX idx_catalog_sales_ship_customer_id ON catalog_sales (cs_ship_customer_sk);
CREATE INDEX idx_catalog_sales_promo_id ON catalog_sales (cs_promo_sk);
CREATE INDEX idx_catalog_sales_warehouse_id ON catalog_sales (cs_warehouse_sk);
CREATE INDEX idx_catalog_sales_date_id ON catalog_sales (cs_sold_date_sk);
CREATE INDEX idx_catalog_sales_order_ship_date ON catalog_sales (cs_order_number, cs_ship_date_sk);
CREATE INDEX idx_catalog_sales_ship_addr ON catalog_sales (cs_ship_addr_sk);
CREATE INDEX idx_catalog_sales_call_center ON catalog_sales (cs_call_center_sk);
CREATE INDEX idx_web_sales_customer_id ON web_sales (ws_bill_customer_sk);
CREATE INDEX idx_web_sales_ship_customer_id ON web_sales (ws_ship_customer_sk);
CREATE INDEX idx_web_sales_promo_id ON web_sales (ws_promo_sk);
CREATE INDEX idx_web_sales_warehouse_id ON web_sales (ws_warehouse_sk);
CREATE INDEX idx_web_sales_date_id ON web_sales (ws_sold_date_sk);
CREATE INDEX idx_inventory_item_id ON inventory (inv_item_sk);
CREATE INDEX idx_inventory_warehouse_id ON inventory (inv_warehouse_sk);
CREATE INDEX idx_store_returns_customer_id ON store_returns (sr_customer_sk);
CREATE INDEX idx_store_returns_date_id ON store_returns (sr_returned_date_sk);
CREATE INDEX idx_store_returns_ticket_id ON store_returns (sr_ticket_number);
CREATE INDEX idx_store_returns_store_id ON store_returns (sr_store_sk);
CREATE INDEX idx_catalog_returns_customer_id ON catalog_returns (cr_returning_customer_sk);
CREATE INDEX idx_catalog_returns_date_id ON catalog_returns (cr_returned_date_sk);
CREATE INDEX idx_catalog_returns_order_number ON catalog_returns (cr_order_number);
CREATE INDEX idx_catalog_returns_warehouse_id ON catalog_returns (cr_warehouse_sk);
CREATE INDEX idx_web_returns_customer_id ON web_returns (wr_returning_customer_sk);
CREATE INDEX idx_web_returns_date_id ON web_returns (wr_returned_date_sk);
CREATE INDEX idx_web_returns_order_number ON web_returns (wr_order_number);
CREATE INDEX idx_customer_address_id ON customer (c_current_addr_sk);
CREATE INDEX idx_customer_birth_country ON customer (c_birth_country);
CREATE INDEX idx_customer_current_cdemo_sk ON customer (c_current_cdemo_sk);
CREATE INDEX idx_customer_address_sk_state ON customer_address (ca_address_sk, ca_state);
CREATE INDEX idx_customer_address_county ON customer_address (ca_county);
CREATE INDEX idx_date_dim_date_sk_date ON date_dim (d_date_sk, d_date);
CREATE INDEX idx_date_dim_year_moy ON date_dim (d_year, d_moy, d_date_sk);
CREATE INDEX idx_date_dim_d_year ON date_dim (d_year);
CREATE INDEX idx_call_center_county ON call_center (cc_call_center_sk, cc_county);

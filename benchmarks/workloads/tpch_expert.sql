-- The TPC-H index set of the OSDL Database Test Suite 3 (DBT-3, the open TPC-H kit):
-- builddb/cmd_files/create_indexes (e.g. github.com/muehlbau/dbt3,
-- builddb/cmd_files/create_indexes_repm.sql): foreign-key and date indexes.
-- Two of its 13 indexes are left out because here they are left prefixes of the primary
-- key (InnoDB clusters on it), so they would be redundant copies:
--   i_l_orderkey  ON lineitem (l_orderkey)   - PRIMARY KEY (l_orderkey, l_linenumber)
--   i_ps_partkey  ON partsupp (ps_partkey)   - PRIMARY KEY (ps_partkey, ps_suppkey)
CREATE INDEX i_l_shipdate ON lineitem (l_shipdate);
CREATE INDEX i_l_suppkey_partkey ON lineitem (l_partkey, l_suppkey);
CREATE INDEX i_l_partkey ON lineitem (l_partkey);
CREATE INDEX i_l_suppkey ON lineitem (l_suppkey);
CREATE INDEX i_l_receiptdate ON lineitem (l_receiptdate);
CREATE INDEX i_c_nationkey ON customer (c_nationkey);
CREATE INDEX i_o_orderdate ON orders (o_orderdate);
CREATE INDEX i_o_custkey ON orders (o_custkey);
CREATE INDEX i_s_nationkey ON supplier (s_nationkey);
CREATE INDEX i_ps_suppkey ON partsupp (ps_suppkey);
CREATE INDEX i_n_regionkey ON nation (n_regionkey);

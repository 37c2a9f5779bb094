-- sysbench's own secondary index, as /usr/share/sysbench/oltp_common.lua (sysbench 1.0.20)
-- creates it after loading each table (create_table: "CREATE INDEX k_%d ON sbtest%d(k)",
-- unless --create_secondary=off). advice_quality.py drops it for the bare schema.
CREATE INDEX k_1 ON sbtest1 (k);

//! SQL text for the JDBC sink, per dialect: multi-row INSERT / upsert, UPDATE, multi-key DELETE,
//! and the DDL of auto.create / auto.evolve. Every identifier is quoted; every value is a bind
//! parameter (PostgreSQL parameters are sent as text and cast to the column type by the server).

use crate::model::{LogicalType, Schema, SchemaType};

/// The SQL flavour of the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SqlDialect {
    /// MariaDB: `ON DUPLICATE KEY UPDATE c=VALUES(c)`.
    MariaDb,
    /// MySQL 8.0.19+: the row-alias form `AS new … c=new.c` (VALUES() is deprecated there).
    MySql8,
    /// MySQL before 8.0.19: `VALUES(c)`.
    MySqlLegacy,
    Postgres,
}

impl SqlDialect {
    /// Chooses the MySQL-family dialect from `SELECT VERSION()`.
    pub(crate) fn from_mysql_version(version: &str) -> SqlDialect {
        if version.to_ascii_lowercase().contains("mariadb") {
            return SqlDialect::MariaDb;
        }
        let mut parts = version
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|p| p.parse::<u32>().ok());
        let (major, minor, patch) = (
            parts.next().unwrap_or(0),
            parts.next().unwrap_or(0),
            parts.next().unwrap_or(0),
        );
        if (major, minor, patch) >= (8, 0, 19) {
            SqlDialect::MySql8
        } else {
            SqlDialect::MySqlLegacy
        }
    }

    pub(crate) fn is_postgres(self) -> bool {
        self == SqlDialect::Postgres
    }

    /// Quotes an identifier (backticks for MySQL, double quotes for PostgreSQL), doubling any
    /// quote character inside.
    pub(crate) fn quote(self, identifier: &str) -> String {
        crate::db::quote_identifier(identifier, if self.is_postgres() { '"' } else { '`' })
    }

    /// Quotes a table name; `schema.table` quotes each part.
    pub(crate) fn quote_table(self, table: &str) -> String {
        table
            .split('.')
            .map(|part| self.quote(part))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The bind placeholder for parameter `n` (1-based) of a column of `column_type`.
    fn placeholder(self, n: usize, column_type: &str) -> String {
        if self.is_postgres() {
            format!("CAST(${n} AS {column_type})")
        } else {
            "?".to_string()
        }
    }

    /// The column type for a Connect schema (Connect's mapping, with a bounded VARCHAR for
    /// string keys where Connect's TEXT cannot be indexed).
    pub(crate) fn column_type(self, schema: &Schema, key: bool) -> String {
        let pg = self.is_postgres();
        match schema.logical_type() {
            Some(LogicalType::Decimal { scale }) => {
                return if pg {
                    "DECIMAL".into()
                } else {
                    format!("DECIMAL(65,{})", scale.clamp(0, 30))
                };
            }
            Some(LogicalType::Date) => return "DATE".into(),
            Some(LogicalType::Time) => return if pg { "TIME".into() } else { "TIME(3)".into() },
            Some(LogicalType::Timestamp) => {
                return if pg {
                    "TIMESTAMP".into()
                } else {
                    "DATETIME(3)".into()
                };
            }
            None => {}
        }
        match (schema.ty, pg) {
            (SchemaType::Int8, false) => "TINYINT",
            (SchemaType::Int8 | SchemaType::Int16, true) => "SMALLINT",
            (SchemaType::Int16, false) => "SMALLINT",
            (SchemaType::Int32, _) => "INT",
            (SchemaType::Int64, _) => "BIGINT",
            (SchemaType::Float32, false) => "FLOAT",
            (SchemaType::Float32, true) => "REAL",
            (SchemaType::Float64, false) => "DOUBLE",
            (SchemaType::Float64, true) => "DOUBLE PRECISION",
            (SchemaType::Boolean, false) => "TINYINT",
            (SchemaType::Boolean, true) => "BOOLEAN",
            (SchemaType::String, false) if key => "VARCHAR(255)",
            (SchemaType::String, _) => "TEXT",
            (SchemaType::Bytes, false) => "VARBINARY(1024)",
            (SchemaType::Bytes, true) => "BYTEA",
            _ => "TEXT",
        }
        .to_string()
    }
}

/// A column of a statement: its name and SQL type (for PostgreSQL casts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) sql_type: String,
}

fn column_list(dialect: SqlDialect, columns: &[Column]) -> String {
    columns
        .iter()
        .map(|c| dialect.quote(&c.name))
        .collect::<Vec<_>>()
        .join(",")
}

/// `rows` comma-separated rows of one placeholder per column, numbered from 1 across rows,
/// each row in parentheses when `parenthesize`.
fn placeholder_rows(
    dialect: SqlDialect,
    columns: &[Column],
    rows: usize,
    parenthesize: bool,
) -> String {
    let mut out = String::new();
    let mut n = 1;
    for row in 0..rows {
        if row > 0 {
            out.push(',');
        }
        if parenthesize {
            out.push('(');
        }
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&dialect.placeholder(n, &column.sql_type));
            n += 1;
        }
        if parenthesize {
            out.push(')');
        }
    }
    out
}

/// `INSERT INTO t (cols) VALUES (…),(…)` for `rows` rows.
pub(crate) fn insert(dialect: SqlDialect, table: &str, columns: &[Column], rows: usize) -> String {
    format!(
        "INSERT INTO {} ({}) VALUES {}",
        dialect.quote_table(table),
        column_list(dialect, columns),
        placeholder_rows(dialect, columns, rows, true)
    )
}

/// A multi-row upsert on `keys` (which are a prefix of `columns`).
pub(crate) fn upsert(
    dialect: SqlDialect,
    table: &str,
    columns: &[Column],
    keys: usize,
    rows: usize,
) -> String {
    let insert = insert(dialect, table, columns, rows);
    // With no non-key columns, the key columns are updated with themselves (as Connect does).
    let updated: &[Column] = if columns.len() > keys {
        &columns[keys..]
    } else {
        &columns[..keys]
    };
    let q = |c: &Column| dialect.quote(&c.name);
    match dialect {
        SqlDialect::MariaDb | SqlDialect::MySqlLegacy => format!(
            "{insert} ON DUPLICATE KEY UPDATE {}",
            updated
                .iter()
                .map(|c| format!("{}=VALUES({})", q(c), q(c)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        SqlDialect::MySql8 => format!(
            "{insert} AS new ON DUPLICATE KEY UPDATE {}",
            updated
                .iter()
                .map(|c| format!("{}=new.{}", q(c), q(c)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        SqlDialect::Postgres => {
            let conflict = columns[..keys].iter().map(q).collect::<Vec<_>>().join(",");
            if columns.len() > keys {
                format!(
                    "{insert} ON CONFLICT ({conflict}) DO UPDATE SET {}",
                    updated
                        .iter()
                        .map(|c| format!("{}=EXCLUDED.{}", q(c), q(c)))
                        .collect::<Vec<_>>()
                        .join(",")
                )
            } else {
                format!("{insert} ON CONFLICT ({conflict}) DO NOTHING")
            }
        }
    }
}

/// `UPDATE t SET c=? … WHERE k=? …` for one row: parameters are the non-key columns, then keys.
pub(crate) fn update(dialect: SqlDialect, table: &str, columns: &[Column], keys: usize) -> String {
    let mut n = 0;
    let mut next = |c: &Column| {
        n += 1;
        format!(
            "{}={}",
            dialect.quote(&c.name),
            dialect.placeholder(n, &c.sql_type)
        )
    };
    let set: Vec<String> = columns[keys..].iter().map(&mut next).collect();
    let filter: Vec<String> = columns[..keys].iter().map(&mut next).collect();
    format!(
        "UPDATE {} SET {} WHERE {}",
        dialect.quote_table(table),
        set.join(","),
        filter.join(" AND ")
    )
}

/// `DELETE FROM t WHERE (k1,k2) IN ((?,?),…)` for `rows` keys.
pub(crate) fn delete(dialect: SqlDialect, table: &str, keys: &[Column], rows: usize) -> String {
    let list = column_list(dialect, keys);
    let target = if keys.len() == 1 {
        list
    } else {
        format!("({list})")
    };
    let values = placeholder_rows(dialect, keys, rows, keys.len() > 1);
    format!(
        "DELETE FROM {} WHERE {target} IN ({values})",
        dialect.quote_table(table)
    )
}

/// A column definition for DDL.
#[derive(Debug, Clone)]
pub(crate) struct ColumnDef {
    pub(crate) name: String,
    pub(crate) sql_type: String,
    pub(crate) nullable: bool,
}

/// `CREATE TABLE t (… , PRIMARY KEY(…))`.
pub(crate) fn create_table(
    dialect: SqlDialect,
    table: &str,
    columns: &[ColumnDef],
    keys: &[String],
) -> String {
    let mut parts: Vec<String> = columns
        .iter()
        .map(|c| {
            format!(
                "{} {} {}",
                dialect.quote(&c.name),
                c.sql_type,
                if c.nullable { "NULL" } else { "NOT NULL" }
            )
        })
        .collect();
    if !keys.is_empty() {
        parts.push(format!(
            "PRIMARY KEY({})",
            keys.iter()
                .map(|k| dialect.quote(k))
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    format!(
        "CREATE TABLE {} (\n{})",
        dialect.quote_table(table),
        parts.join(",\n")
    )
}

/// `ALTER TABLE t ADD c TYPE NULL, ADD …` (one statement for every missing column).
pub(crate) fn alter_add(dialect: SqlDialect, table: &str, columns: &[ColumnDef]) -> String {
    let adds: Vec<String> = columns
        .iter()
        .map(|c| format!("ADD {} {} NULL", dialect.quote(&c.name), c.sql_type))
        .collect();
    format!(
        "ALTER TABLE {} {}",
        dialect.quote_table(table),
        adds.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<Column> {
        names
            .iter()
            .map(|n| Column {
                name: n.to_string(),
                sql_type: "BIGINT".into(),
            })
            .collect()
    }

    #[test]
    fn mysql_statements() {
        let c = cols(&["id", "name"]);
        assert_eq!(
            insert(SqlDialect::MariaDb, "t", &c, 2),
            "INSERT INTO `t` (`id`,`name`) VALUES (?,?),(?,?)"
        );
        assert_eq!(
            upsert(SqlDialect::MariaDb, "t", &c, 1, 1),
            "INSERT INTO `t` (`id`,`name`) VALUES (?,?) ON DUPLICATE KEY UPDATE `name`=VALUES(`name`)"
        );
        assert_eq!(
            upsert(SqlDialect::MySql8, "t", &c, 1, 1),
            "INSERT INTO `t` (`id`,`name`) VALUES (?,?) AS new ON DUPLICATE KEY UPDATE `name`=new.`name`"
        );
        assert_eq!(
            upsert(SqlDialect::MariaDb, "t", &cols(&["id"]), 1, 1),
            "INSERT INTO `t` (`id`) VALUES (?) ON DUPLICATE KEY UPDATE `id`=VALUES(`id`)"
        );
        assert_eq!(
            update(SqlDialect::MariaDb, "t", &c, 1),
            "UPDATE `t` SET `name`=? WHERE `id`=?"
        );
        assert_eq!(
            delete(SqlDialect::MariaDb, "t", &cols(&["id"]), 3),
            "DELETE FROM `t` WHERE `id` IN (?,?,?)"
        );
        assert_eq!(
            delete(SqlDialect::MariaDb, "t", &cols(&["a", "b"]), 2),
            "DELETE FROM `t` WHERE (`a`,`b`) IN ((?,?),(?,?))"
        );
        assert_eq!(SqlDialect::MariaDb.quote("we`ird"), "`we``ird`");
    }

    #[test]
    fn postgres_statements() {
        let c = cols(&["id", "name"]);
        assert_eq!(
            upsert(SqlDialect::Postgres, "t", &c, 1, 2),
            "INSERT INTO \"t\" (\"id\",\"name\") VALUES (CAST($1 AS BIGINT),CAST($2 AS BIGINT)),(CAST($3 AS BIGINT),CAST($4 AS BIGINT)) ON CONFLICT (\"id\") DO UPDATE SET \"name\"=EXCLUDED.\"name\""
        );
        assert_eq!(
            update(SqlDialect::Postgres, "t", &c, 1),
            "UPDATE \"t\" SET \"name\"=CAST($1 AS BIGINT) WHERE \"id\"=CAST($2 AS BIGINT)"
        );
    }

    #[test]
    fn dialect_from_version() {
        assert_eq!(
            SqlDialect::from_mysql_version("10.11.19-MariaDB-0+deb12u1"),
            SqlDialect::MariaDb
        );
        assert_eq!(SqlDialect::from_mysql_version("8.0.36"), SqlDialect::MySql8);
        assert_eq!(
            SqlDialect::from_mysql_version("8.0.18-log"),
            SqlDialect::MySqlLegacy
        );
        assert_eq!(
            SqlDialect::from_mysql_version("5.7.44"),
            SqlDialect::MySqlLegacy
        );
    }

    #[test]
    fn ddl() {
        let key = Schema::primitive(SchemaType::String, false);
        assert_eq!(SqlDialect::MariaDb.column_type(&key, true), "VARCHAR(255)");
        assert_eq!(SqlDialect::MariaDb.column_type(&key, false), "TEXT");
        assert_eq!(
            SqlDialect::MariaDb.column_type(&Schema::decimal(2, Some(10), true), false),
            "DECIMAL(65,2)"
        );
        let columns = vec![
            ColumnDef {
                name: "id".into(),
                sql_type: "INT".into(),
                nullable: false,
            },
            ColumnDef {
                name: "name".into(),
                sql_type: "TEXT".into(),
                nullable: true,
            },
        ];
        assert_eq!(
            create_table(SqlDialect::MariaDb, "t", &columns, &["id".to_string()]),
            "CREATE TABLE `t` (\n`id` INT NOT NULL,\n`name` TEXT NULL,\nPRIMARY KEY(`id`))"
        );
        assert_eq!(
            alter_add(SqlDialect::MariaDb, "t", &columns[1..]),
            "ALTER TABLE `t` ADD `name` TEXT NULL"
        );
    }
}

//! What a DDL statement read from the binlog changes: which tables it creates, alters, renames
//! or drops, and which databases. This is not a SQL parser: the server has already parsed and
//! run the statement, and the table's structure after it is read from the catalog
//! (`history.rs`). Only the statement's head is read — the verb, the object kind, and the
//! (possibly qualified, quoted) names — which is enough to know whose description to take.

/// What a statement does to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TableChange {
    Create,
    Alter,
    Drop,
    /// Renamed from `(database, table)`.
    Rename {
        from: (String, String),
    },
}

/// A DDL statement's effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Ddl {
    /// Tables changed: `(database, table, change)`, in statement order.
    Tables(Vec<(String, String, TableChange)>),
    /// `CREATE/ALTER/DROP DATABASE` (or `SCHEMA`) of this database.
    Database(String),
    /// `TRUNCATE [TABLE] (database, table)`: no schema change (Debezium writes it to neither
    /// the history nor the schema-change topic), but a truncate event when enabled.
    Truncate(String, String),
    /// Views, routines, triggers, events, users, grants, `SET`, … : no table structure changes
    /// (Debezium filters these too).
    Other,
}

/// A token of a statement's head.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A keyword or a bare identifier (as written).
    Word(String),
    /// A quoted identifier (backquotes, or double quotes under `ANSI_QUOTES`), unquoted.
    Quoted(String),
    Punct(char),
}

impl Token {
    fn is(&self, keyword: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(keyword))
    }
}

/// Splits `sql` into tokens, skipping comments (`-- `, `#`, `/* */`; MySQL's versioned
/// `/*!50100 … */` comments are read as code, as the server reads them) and string literals.
fn tokens(sql: &str) -> Vec<Token> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '#' || (c == '-' && next == Some('-')) {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            if chars.get(i + 2) == Some(&'!') || chars.get(i + 2) == Some(&'M') {
                // `/*!NNNNN code */` and MariaDB's `/*M!NNNNN code */`: the code counts.
                i += 3;
                if chars.get(i - 1) == Some(&'M') && chars.get(i) == Some(&'!') {
                    i += 1;
                }
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            } else {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
            }
        } else if c == '*' && next == Some('/') {
            // The end of a versioned comment.
            i += 2;
        } else if c == '`' || c == '"' {
            let mut name = String::new();
            i += 1;
            while i < chars.len() {
                if chars[i] == c {
                    if chars.get(i + 1) == Some(&c) {
                        name.push(c);
                        i += 2;
                        continue;
                    }
                    break;
                }
                name.push(chars[i]);
                i += 1;
            }
            i += 1;
            out.push(Token::Quoted(name));
        } else if c == '\'' {
            i += 1;
            while i < chars.len() {
                if chars[i] == '\\' {
                    i += 2;
                    continue;
                }
                if chars[i] == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i += 1;
            out.push(Token::Punct('\''));
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            out.push(Token::Word(chars[start..i].iter().collect()));
        } else {
            out.push(Token::Punct(c));
            i += 1;
        }
    }
    out
}

/// Reads statements' heads.
struct Reader<'a> {
    tokens: Vec<Token>,
    at: usize,
    /// The statement's default database (the query event's schema).
    database: &'a str,
}

impl Reader<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    /// Takes the next token when it is `keyword`.
    fn eat(&mut self, keyword: &str) -> bool {
        if self.peek().is_some_and(|t| t.is(keyword)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn eat_punct(&mut self, p: char) -> bool {
        if self.peek() == Some(&Token::Punct(p)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// Skips `IF [NOT] EXISTS`.
    fn if_exists(&mut self) {
        if self.eat("IF") {
            self.eat("NOT");
            self.eat("EXISTS");
        }
    }

    fn identifier(&mut self) -> Option<String> {
        let name = match self.peek()? {
            Token::Word(w) | Token::Quoted(w) => w.clone(),
            Token::Punct(_) => return None,
        };
        self.at += 1;
        Some(name)
    }

    /// `[IF [NOT] EXISTS] name` of a `CREATE`/`DROP DATABASE`.
    fn database(&mut self) -> Ddl {
        self.if_exists();
        self.identifier().map_or(Ddl::Other, Ddl::Database)
    }

    /// After `CREATE` or `DROP`: a `DATABASE`/`SCHEMA` statement, or a `TEMPORARY` table (not
    /// written to a ROW binlog, so nothing to record); `None` when the statement is neither.
    fn database_or_temporary(&mut self) -> Option<Ddl> {
        if self.eat("DATABASE") || self.eat("SCHEMA") {
            return Some(self.database());
        }
        self.eat("TEMPORARY").then_some(Ddl::Other)
    }

    /// A table name, qualified by its database or not.
    fn table_name(&mut self) -> Option<(String, String)> {
        let first = self.identifier()?;
        if self.eat_punct('.') {
            let table = self.identifier()?;
            Some((first, table))
        } else {
            Some((self.database.to_string(), first))
        }
    }

    /// A comma-separated list of table names.
    fn table_names(&mut self) -> Vec<(String, String)> {
        let mut names = Vec::new();
        while let Some(name) = self.table_name() {
            names.push(name);
            if !self.eat_punct(',') {
                break;
            }
        }
        names
    }
}

/// What `sql`, run with `database` as its default database, changes.
pub(super) fn classify(sql: &str, database: &str) -> Ddl {
    let mut r = Reader {
        tokens: tokens(sql),
        at: 0,
        database,
    };
    let tables = |names: Vec<(String, String)>, change: TableChange| {
        Ddl::Tables(
            names
                .into_iter()
                .map(|(db, table)| (db, table, change.clone()))
                .collect(),
        )
    };
    if r.eat("CREATE") {
        r.eat("OR");
        r.eat("REPLACE");
        if let Some(ddl) = r.database_or_temporary() {
            return ddl;
        }
        if r.eat("TABLE") {
            r.if_exists();
            return r
                .table_name()
                .map_or(Ddl::Other, |name| tables(vec![name], TableChange::Create));
        }
        // `CREATE [UNIQUE|FULLTEXT|SPATIAL] INDEX i [USING …] ON t`
        r.eat("ONLINE");
        r.eat("OFFLINE");
        let _ = r.eat("UNIQUE") || r.eat("FULLTEXT") || r.eat("SPATIAL");
        if r.eat("INDEX") {
            return on_table(&mut r);
        }
        return Ddl::Other;
    }
    if r.eat("ALTER") {
        r.eat("ONLINE");
        r.eat("IGNORE");
        if r.eat("DATABASE") || r.eat("SCHEMA") {
            return r
                .identifier()
                .map_or(Ddl::Database(database.to_string()), Ddl::Database);
        }
        if r.eat("TABLE") {
            r.if_exists();
            let Some(name) = r.table_name() else {
                return Ddl::Other;
            };
            // `ALTER TABLE a RENAME [TO|AS] b` (alone or among other changes).
            while let Some(token) = r.peek().cloned() {
                r.at += 1;
                if token.is("RENAME") && !r.eat("COLUMN") && !r.eat("INDEX") && !r.eat("KEY") {
                    let _ = r.eat("TO") || r.eat("AS");
                    if let Some(new) = r.table_name() {
                        return Ddl::Tables(vec![(
                            new.0,
                            new.1,
                            TableChange::Rename { from: name },
                        )]);
                    }
                }
            }
            return tables(vec![name], TableChange::Alter);
        }
        return Ddl::Other;
    }
    if r.eat("DROP") {
        if let Some(ddl) = r.database_or_temporary() {
            return ddl;
        }
        if r.eat("TABLE") {
            r.if_exists();
            return tables(r.table_names(), TableChange::Drop);
        }
        r.eat("ONLINE");
        r.eat("OFFLINE");
        if r.eat("INDEX") {
            r.if_exists();
            return on_table(&mut r);
        }
        return Ddl::Other;
    }
    if r.eat("RENAME") {
        if !r.eat("TABLE") && !r.eat("TABLES") {
            return Ddl::Other;
        }
        r.if_exists();
        let mut changes = Vec::new();
        while let Some(from) = r.table_name() {
            if !r.eat("TO") {
                break;
            }
            let Some(to) = r.table_name() else { break };
            changes.push((to.0, to.1, TableChange::Rename { from }));
            if !r.eat_punct(',') {
                break;
            }
        }
        return Ddl::Tables(changes);
    }
    if r.eat("TRUNCATE") {
        r.eat("TABLE");
        return r
            .table_name()
            .map_or(Ddl::Other, |(db, table)| Ddl::Truncate(db, table));
    }
    Ddl::Other
}

/// `… INDEX name [USING type] ON table`: an ALTER of that table.
fn on_table(r: &mut Reader<'_>) -> Ddl {
    r.identifier();
    while let Some(token) = r.peek().cloned() {
        r.at += 1;
        if token.is("ON") {
            return r.table_name().map_or(Ddl::Other, |name| {
                Ddl::Tables(vec![(name.0, name.1, TableChange::Alter)])
            });
        }
    }
    Ddl::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(db: &str, table: &str, change: TableChange) -> (String, String, TableChange) {
        (db.into(), table.into(), change)
    }

    #[test]
    fn table_statements_name_their_tables() {
        use TableChange::*;
        assert_eq!(
            classify("ALTER TABLE customers ADD COLUMN c INT", "inventory"),
            Ddl::Tables(vec![t("inventory", "customers", Alter)])
        );
        assert_eq!(
            classify(
                "/* a comment */ alter table `other`.`My ``odd`` table` drop column x",
                "inventory"
            ),
            Ddl::Tables(vec![t("other", "My `odd` table", Alter)])
        );
        assert_eq!(
            classify(
                "CREATE TABLE IF NOT EXISTS `t1` (id INT PRIMARY KEY, note VARCHAR(10) DEFAULT 'DROP TABLE x')",
                "db"
            ),
            Ddl::Tables(vec![t("db", "t1", Create)])
        );
        assert_eq!(
            classify("CREATE OR REPLACE TABLE db2.t2 (a INT)", "db"),
            Ddl::Tables(vec![t("db2", "t2", Create)])
        );
        assert_eq!(
            classify(
                "DROP TABLE IF EXISTS `a`, db2.b /* generated by server */",
                "db"
            ),
            Ddl::Tables(vec![t("db", "a", Drop), t("db2", "b", Drop)])
        );
        assert_eq!(
            classify("RENAME TABLE a TO b, db2.c TO db.d", "db"),
            Ddl::Tables(vec![
                t(
                    "db",
                    "b",
                    Rename {
                        from: ("db".into(), "a".into())
                    }
                ),
                t(
                    "db",
                    "d",
                    Rename {
                        from: ("db2".into(), "c".into())
                    }
                ),
            ])
        );
        assert_eq!(
            classify("ALTER TABLE a ADD x INT, RENAME TO b", "db"),
            Ddl::Tables(vec![t(
                "db",
                "b",
                Rename {
                    from: ("db".into(), "a".into())
                }
            )])
        );
        assert_eq!(
            classify("ALTER TABLE a RENAME COLUMN x TO y", "db"),
            Ddl::Tables(vec![t("db", "a", Alter)])
        );
        assert_eq!(
            classify("CREATE UNIQUE INDEX i ON t (a)", "db"),
            Ddl::Tables(vec![t("db", "t", Alter)])
        );
        assert_eq!(
            classify("DROP INDEX i ON db2.t", "db"),
            Ddl::Tables(vec![t("db2", "t", Alter)])
        );
    }

    #[test]
    fn other_statements_change_no_table() {
        assert_eq!(
            classify("CREATE DATABASE IF NOT EXISTS x", "db"),
            Ddl::Database("x".into())
        );
        assert_eq!(classify("DROP SCHEMA x", "db"), Ddl::Database("x".into()));
        assert_eq!(
            classify("TRUNCATE TABLE t", "db"),
            Ddl::Truncate("db".into(), "t".into())
        );
        assert_eq!(
            classify("truncate `db2`.`t`", "db"),
            Ddl::Truncate("db2".into(), "t".into())
        );
        assert_eq!(
            classify("CREATE TEMPORARY TABLE t (a INT)", "db"),
            Ddl::Other
        );
        assert_eq!(classify("CREATE VIEW v AS SELECT 1", "db"), Ddl::Other);
        assert_eq!(
            classify(
                "CREATE DEFINER=`root`@`%` TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @a=1",
                "db"
            ),
            Ddl::Other
        );
        assert_eq!(classify("GRANT SELECT ON db.* TO u", "db"), Ddl::Other);
        assert_eq!(classify("FLUSH PRIVILEGES", "db"), Ddl::Other);
    }
}

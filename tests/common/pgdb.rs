//! A database of its own on the test PostgreSQL server
//! (`DUBAN_TEST_POSTGRES`, a URL whose user may create databases),
//! dropped at the end. Without the variable the PostgreSQL half is
//! skipped with one line saying so; in CI (`CI` set) it never is.

pub struct TestDb {
    server: String,
    pub name: String,
    pub url: String,
}

impl TestDb {
    /// `None` (and one line saying so) without a server to test on.
    pub fn new(what: &str) -> Option<TestDb> {
        let Ok(server) = std::env::var("DUBAN_TEST_POSTGRES") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI runs the PostgreSQL half: set DUBAN_TEST_POSTGRES"
            );
            eprintln!("PostgreSQL half skipped ({what}): DUBAN_TEST_POSTGRES is not set");
            return None;
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!("duban_test_{}_{}_{nanos}", std::process::id(), what);
        let admin = duban::store::connect_postgres(&server).unwrap_or_else(|e| panic!("{e}"));
        admin
            .execute_batch(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("{e}"));
        let url = match server.rfind('/') {
            Some(i) if server[..i].ends_with('/') => format!("{server}/{name}"),
            Some(i) => format!("{}/{name}", &server[..i]),
            None => format!("{server}/{name}"),
        };
        Some(TestDb { server, name, url })
    }

    pub fn connect(&self) -> duban::store::Db {
        duban::store::connect_postgres(&self.url).unwrap_or_else(|e| panic!("{e}"))
    }

    /// One number a query gives.
    pub fn count(&self, sql: &str) -> i64 {
        self.connect()
            .query_row(sql, (), |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The first column of every row a query gives, as text.
    pub fn texts(&self, sql: &str) -> Vec<String> {
        let db = self.connect();
        let mut stmt = db.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        stmt.query_map((), |r| r.get::<_, String>(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .map(|r| r.unwrap_or_else(|e| panic!("{sql}: {e}")))
            .collect()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(admin) = duban::store::connect_postgres(&self.server) {
            let _ = admin.execute_batch(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

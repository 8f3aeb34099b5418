//! This extension's gauge families in the metrics textfile: the size and the outcome of the
//! last dump of each database, from the [`DatabaseResult`]s the action records. The kernel
//! writes them through the [`ResultMetrics`] registered here.

use cedar_core::{DatabaseResult, ResultFamily, ResultMetrics};

static FAMILIES: [ResultFamily; 2] = [
    ResultFamily {
        name: "cback_postgresql_dump_bytes",
        help: "Size of the last PostgreSQL dump file, per database.",
        label: "database",
        value: bytes,
    },
    ResultFamily {
        name: "cback_postgresql_dump_success",
        help: "1 if the last PostgreSQL dump of the database succeeded, else 0.",
        label: "database",
        value: success,
    },
];

fn bytes(result: &DatabaseResult) -> String {
    result.bytes.to_string()
}

fn success(result: &DatabaseResult) -> String {
    u8::from(result.success).to_string()
}

cedar_core::inventory::submit! {
    ResultMetrics { action: "postgresql", families: &FAMILIES }
}

#[cfg(test)]
mod tests {
    use cedar_core::{status_prometheus_text, DatabaseResult, RunStatus};

    fn dump(database: &str, success: bool) -> DatabaseResult {
        DatabaseResult {
            action: "postgresql".into(),
            database: database.into(),
            file: Some(format!("postgresqldump-{database}.txt.gz")),
            raw_bytes: 100,
            bytes: 40,
            success,
            seconds: 0.5,
            error: None,
        }
    }

    #[test]
    fn the_textfile_carries_the_dump_families_right_after_the_run_gauges() {
        let mut status = RunStatus::no_run();
        status.databases = vec![dump("shop", true), dump("crm", false)];
        let text = status_prometheus_text(&status);
        assert!(text.starts_with(
            "# HELP cback_postgresql_dump_bytes Size of the last PostgreSQL dump file, per database.\n\
             # TYPE cback_postgresql_dump_bytes gauge\n\
             cback_postgresql_dump_bytes{database=\"shop\"} 40\n\
             cback_postgresql_dump_bytes{database=\"crm\"} 40\n\
             # HELP cback_postgresql_dump_success 1 if the last PostgreSQL dump of the database succeeded, else 0.\n\
             # TYPE cback_postgresql_dump_success gauge\n\
             cback_postgresql_dump_success{database=\"shop\"} 1\n\
             cback_postgresql_dump_success{database=\"crm\"} 0\n"
        ), "{text}");
        assert!(!text.contains("cback_extension_item"), "{text}");
    }

    #[test]
    fn the_families_are_written_without_dumps_too() {
        let text = status_prometheus_text(&RunStatus::no_run());
        assert!(
            text.contains("# TYPE cback_postgresql_dump_success gauge\n"),
            "{text}"
        );
    }
}

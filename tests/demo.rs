//! The demo office tells a consistent story about its as-of date: nothing
//! it holds happened after that day.

mod common;
use common::Office;

#[test]
fn the_demo_office_has_nothing_after_its_as_of_date() {
    let as_of = "2026-12-03";
    let o = Office::demo(1, as_of);
    assert!(o.count("SELECT count(*) FROM inspections") > 0);
    for (what, sql) in [
        (
            "inspections fed back in the future",
            "SELECT count(*) FROM inspections WHERE feedback_on > ?1",
        ),
        (
            "problems found in the future",
            "SELECT count(*) FROM problems WHERE found_on > ?1",
        ),
        (
            "problems rectified in the future",
            "SELECT count(*) FROM problems WHERE rectified_on > ?1",
        ),
        (
            "problems being rectified before their inspection's feedback",
            "SELECT count(*) FROM problems p JOIN inspections i ON i.id = p.inspection_id
             WHERE p.status <> 'open' AND (i.feedback_on IS NULL OR i.feedback_on > ?1)",
        ),
        (
            "tasks created in the future",
            "SELECT count(*) FROM tasks WHERE created_on > ?1",
        ),
        (
            "tasks done in the future",
            "SELECT count(*) FROM tasks WHERE done_on > ?1",
        ),
    ] {
        let n: i64 = o
            .db()
            .query_row(sql, [as_of], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(n, 0, "{what}");
    }
}

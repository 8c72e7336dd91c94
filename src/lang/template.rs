//! The template environment notices are rendered in (minijinja), shared by
//! the checker (syntax, variables) and delivery (rendering), so both know
//! the same filters: `percent` (0.43 → 43%) and `label` (a code → its
//! Chinese label, for task kinds).

use minijinja::{Environment, Value};

pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_filter("percent", percent);
    env
}

/// `0.4321 | percent` → `43.2%`; missing stays empty; a share already
/// shown as a percentage (`59.4%`) stays as it is.
fn percent(v: Value) -> String {
    match v.as_str() {
        Some(s) => s.to_string(),
        None => f64::try_from(v).map(percent_text).unwrap_or_default(),
    }
}

/// A share as people read it: `0.4321` → `43.2%`, `0.7` → `70%`.
pub fn percent_text(x: f64) -> String {
    let p = x * 100.0;
    if (p - p.round()).abs() < 0.05 {
        format!("{}%", p.round() as i64)
    } else {
        format!("{p:.1}%")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn percent_filter() {
        let env = super::environment();
        let out = env
            .render_str(
                "{{ 0.43 | percent }} {{ 0.4321 | percent }} {{ x | percent }}",
                minijinja::context! {},
            )
            .unwrap_or_default();
        assert_eq!(out, "43% 43.2% ");
    }
}

//! A cron schedule in words: `每天 09:00`, `每周一 09:00`, `每月1日 09:00`,
//! `工作日 09:00`. A schedule too intricate for a short phrase is said as
//! its parts (`每月1日、15日 09:00`); the cron text itself never shows.

use super::Lang;

const WEEKDAYS_ZH: [&str; 7] = ["日", "一", "二", "三", "四", "五", "六"];
const WEEKDAYS_EN: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const WEEKDAY_NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// `cron` (5 fields, or 6 with seconds first) in words; `workdays`: the
/// schedule rests on days off (`on workdays`).
pub fn schedule_words(cron: &str, workdays: bool, lang: Lang) -> String {
    let fields: Vec<&str> = cron.split_whitespace().collect();
    let f = match fields.len() {
        6 => &fields[1..],
        5 => &fields[..],
        _ => return lang.pick("按设定时间", "as scheduled").to_string(),
    };
    let (minute, hour, dom, month, dow) = (f[0], f[1], f[2], f[3], f[4]);
    let times = clock_times(hour, minute, lang);
    let weekdays = list(dow, 0, 7).map(|days| {
        days.into_iter()
            .map(|d| usize::try_from(d % 7).unwrap_or(0))
            .collect::<Vec<_>>()
    });
    let months = if month == "*" {
        None
    } else {
        list(month, 1, 12)
    };
    let days_of_month = if dom == "*" { None } else { list(dom, 1, 31) };
    let mut out = String::new();
    if let Some(ms) = &months {
        out.push_str(&match lang {
            Lang::Zh => format!("每年{}月", join(ms, "、")),
            Lang::En => format!("in month {} ", join(ms, ", ")),
        });
    }
    let day = match (&days_of_month, dow, &weekdays) {
        (Some(ds), _, _) => match lang {
            Lang::Zh => {
                let days = ds
                    .iter()
                    .map(|d| format!("{d}日"))
                    .collect::<Vec<_>>()
                    .join("、");
                if months.is_some() {
                    days
                } else {
                    format!("每月{days}")
                }
            }
            Lang::En => format!("on day {} of the month", join(ds, ", ")),
        },
        (None, "*", _) if workdays => lang.pick("工作日", "working days").to_string(),
        (None, "*", _) => lang.pick("每天", "every day").to_string(),
        (None, _, Some(ws)) if *ws == [1, 2, 3, 4, 5] => {
            lang.pick("工作日", "Monday to Friday").to_string()
        }
        (None, _, Some(ws)) => match lang {
            Lang::Zh => format!(
                "每周{}",
                ws.iter()
                    .map(|w| WEEKDAYS_ZH[*w])
                    .collect::<Vec<_>>()
                    .join("、")
            ),
            Lang::En => format!(
                "every {}",
                ws.iter()
                    .map(|w| WEEKDAYS_EN[*w])
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
        (None, _, None) => lang.pick("按设定日期", "on set days").to_string(),
    };
    out.push_str(&day);
    if workdays && (days_of_month.is_some() || dow != "*") {
        out.push_str(lang.pick("（逢休息日不执行）", " (not on days off)"));
    }
    format!("{out} {times}")
}

/// The times of day of an hour and a minute field: `09:00`,
/// `09:00、14:00`, `每小时第 0 分`.
fn clock_times(hour: &str, minute: &str, lang: Lang) -> String {
    match (list(hour, 0, 23), list(minute, 0, 59)) {
        (Some(hs), Some(ms)) if hs.len() * ms.len() <= 6 => {
            let mut t = Vec::new();
            for h in &hs {
                for m in &ms {
                    t.push(format!("{h:02}:{m:02}"));
                }
            }
            t.join(lang.pick("、", ", "))
        }
        (None, Some(ms)) if hour == "*" => match lang {
            Lang::Zh => format!("每小时第 {} 分", join(&ms, "、")),
            Lang::En => format!("every hour at minute {}", join(&ms, ", ")),
        },
        _ => lang.pick("多个时刻", "several times").to_string(),
    }
}

fn join(xs: &[u32], sep: &str) -> String {
    xs.iter().map(u32::to_string).collect::<Vec<_>>().join(sep)
}

/// The values a cron field lists (`1`, `1,15`, `1-5`, `*/15`, `mon`),
/// in `lo..=hi`; None for `*` or what it cannot read.
fn list(field: &str, lo: u32, hi: u32) -> Option<Vec<u32>> {
    if field == "*" || field == "?" {
        return None;
    }
    let number = |s: &str| -> Option<u32> {
        s.parse().ok().or_else(|| {
            WEEKDAY_NAMES
                .iter()
                .position(|n| s.eq_ignore_ascii_case(n) || s.to_ascii_lowercase().starts_with(n))
                .and_then(|p| u32::try_from(p).ok())
        })
    };
    let mut out = Vec::new();
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0)?),
            None => (part, 1),
        };
        let (a, b) = match range {
            "*" => (lo, hi),
            r => match r.split_once('-') {
                Some((a, b)) => (number(a)?, number(b)?),
                None => {
                    let a = number(r)?;
                    (a, if step > 1 { hi } else { a })
                }
            },
        };
        let mut x = a;
        while x <= b {
            out.push(x);
            x += step;
        }
    }
    out.sort_unstable();
    out.dedup();
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_in_words() {
        assert_eq!(schedule_words("0 9 * * *", false, Lang::Zh), "每天 09:00");
        assert_eq!(schedule_words("0 9 * * 1", false, Lang::Zh), "每周一 09:00");
        assert_eq!(
            schedule_words("0 9 1 * *", false, Lang::Zh),
            "每月1日 09:00"
        );
        assert_eq!(schedule_words("0 9 * * *", true, Lang::Zh), "工作日 09:00");
        assert_eq!(
            schedule_words("0 9 * * 1-5", false, Lang::Zh),
            "工作日 09:00"
        );
        assert_eq!(schedule_words("0 0 9 * * *", false, Lang::Zh), "每天 09:00");
        assert_eq!(
            schedule_words("30 8 * * 1", false, Lang::En),
            "every Monday 08:30"
        );
        assert_eq!(schedule_words("0 9 * * 0", false, Lang::Zh), "每周日 09:00");
    }
}

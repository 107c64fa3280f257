//! Training curves as a self-contained SVG (no plotting dependency): the training loss of every logged step and
//! the validation diffusion loss of every epoch, read from `metrics.jsonl`, for one run or several on shared axes.

use std::fmt::Write;

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    /// (x, y) points in drawing order.
    pub points: Points,
}

/// (x, y) points of one curve.
pub type Points = Vec<(f64, f64)>;

/// The two curves of one run's metrics log: (training loss by step, validation diffusion loss by step).
pub fn curves(metrics_jsonl: &str) -> (Points, Points) {
    let (mut train, mut valid) = (Vec::new(), Vec::new());
    for line in metrics_jsonl.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(step) = v["step"].as_f64() else {
            continue;
        };
        if let Some(loss) = v["loss"].as_f64() {
            train.push((step, loss));
        }
        if let Some(loss) = v["valid_diffusion_loss"].as_f64() {
            valid.push((step, loss));
        }
    }
    (train, valid)
}

const COLOURS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
];
const W: f64 = 640.0;
const H: f64 = 300.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 40.0;

/// One chart as an SVG `<g>` at vertical offset `dy`.
fn chart(out: &mut String, dy: f64, title: &str, y_label: &str, series: &[Series]) {
    let pts = || series.iter().flat_map(|s| s.points.iter());
    let (x0, x1) = bounds(pts().map(|p| p.0));
    let (y0, y1) = bounds(pts().map(|p| p.1));
    let sx = |x: f64| LEFT + (x - x0) / (x1 - x0) * (W - LEFT - RIGHT);
    let sy = |y: f64| dy + TOP + (y1 - y) / (y1 - y0) * (H - TOP - BOTTOM);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" font-size="14" text-anchor="middle">{title}</text>"#,
        W / 2.0,
        dy + 18.0
    );
    let (bx, by, bw, bh) = (LEFT, dy + TOP, W - LEFT - RIGHT, H - TOP - BOTTOM);
    let _ = writeln!(
        out,
        r##"<rect x="{bx}" y="{by}" width="{bw}" height="{bh}" fill="none" stroke="#888"/>"##
    );
    for i in 0..=4 {
        let f = i as f64 / 4.0;
        let (x, y) = (x0 + f * (x1 - x0), y0 + f * (y1 - y0));
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"#,
            sx(x),
            dy + H - BOTTOM + 15.0,
            x.round()
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{y:.2}</text>"#,
            LEFT - 5.0,
            sy(y) + 4.0
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" font-size="12" text-anchor="middle">step</text>"#,
        W / 2.0,
        dy + H - 5.0
    );
    let _ = writeln!(
        out,
        r#"<text x="14" y="{}" font-size="12" text-anchor="middle" transform="rotate(-90 14 {})">{y_label}</text>"#,
        dy + H / 2.0,
        dy + H / 2.0
    );
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let path: Vec<String> = s
            .points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/>"#,
            path.join(" ")
        );
        if s.points.len() < 20 {
            for p in &path {
                let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
                let _ = writeln!(out, r#"<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>"#);
            }
        }
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" font-size="12" fill="{colour}" text-anchor="end">{}</text>"#,
            W - RIGHT - 8.0,
            dy + TOP + 16.0 + 15.0 * i as f64,
            escape(&s.label)
        );
    }
}

/// The (min, max) of `values`, widened so that a flat or empty series still draws.
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-9 {
        return (lo - 0.5, hi + 0.5);
    }
    (lo, hi)
}

/// The opening tag of an SVG document with room for two charts, one above the other.
fn two_chart_svg_open() -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{}" font-family="sans-serif">"#,
        2.0 * H
    ) + "\n"
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Training and validation curves of one or more runs, `(label, metrics.jsonl text)`, as one SVG document.
pub fn curves_svg(runs: &[(String, String)]) -> String {
    let mut train = Vec::new();
    let mut valid = Vec::new();
    for (label, text) in runs {
        let (t, v) = curves(text);
        train.push(Series {
            label: label.clone(),
            points: t,
        });
        valid.push(Series {
            label: label.clone(),
            points: v,
        });
    }
    let mut out = two_chart_svg_open();
    chart(
        &mut out,
        0.0,
        "training loss (diffusion + emotion)",
        "loss",
        &train,
    );
    chart(
        &mut out,
        H,
        "validation diffusion loss (fixed noise)",
        "loss",
        &valid,
    );
    out.push_str("</svg>\n");
    out
}

/// The RL stage's reward curves (`train --stage rl`'s metrics.jsonl): the total reward and its terms by
/// update, and the intent policy's entropy, as one SVG document.
pub fn rewards_svg(metrics_jsonl: &str) -> String {
    let keys = [
        ("reward", "total"),
        ("reward_intent", "intent (judge)"),
        ("reward_emotion", "emotion fit"),
        ("reward_novelty", "novelty"),
        ("reward_fluency", "fluency"),
    ];
    let mut series: Vec<Series> = keys
        .iter()
        .map(|(_, label)| Series {
            label: label.to_string(),
            points: Vec::new(),
        })
        .collect();
    let mut entropy = Series {
        label: "policy entropy".into(),
        points: Vec::new(),
    };
    for line in metrics_jsonl.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(step) = v["step"].as_f64() else {
            continue;
        };
        for (s, (key, _)) in series.iter_mut().zip(keys) {
            if let Some(y) = v[key].as_f64() {
                s.points.push((step, y));
            }
        }
        if let Some(y) = v["policy_entropy"].as_f64() {
            entropy.points.push((step, y));
        }
    }
    // (a term the run's config did not log, e.g. fluency in older runs, has no line)
    series.retain(|s| !s.points.is_empty());
    let mut out = two_chart_svg_open();
    chart(
        &mut out,
        0.0,
        "RL reward (mean per update)",
        "reward",
        &series,
    );
    chart(&mut out, H, "intent policy entropy", "nats", &[entropy]);
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_come_from_the_right_lines_and_the_svg_draws_one_line_per_run_and_chart() {
        let log = concat!(
            "{\"step\":1,\"epoch\":1,\"loss\":5.0,\"lr\":0.001}\n",
            "{\"step\":2,\"epoch\":1,\"loss\":4.0,\"lr\":0.001}\n",
            "{\"epoch\":1,\"step\":2,\"train_loss\":4.5,\"valid_diffusion_loss\":3.5}\n",
        );
        let (train, valid) = curves(log);
        assert_eq!(train, [(1.0, 5.0), (2.0, 4.0)]);
        assert_eq!(valid, [(2.0, 3.5)]);
        let svg = curves_svg(&[("a<b".into(), log.into()), ("c".into(), log.into())]);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 4);
        assert!(svg.contains("a&lt;b"));
    }

    #[test]
    fn reward_curves_draw_the_total_its_terms_and_the_entropy() {
        let log = concat!(
            "{\"step\":1,\"reward\":1.0,\"reward_intent\":0.2,\"reward_emotion\":0.1,\"reward_novelty\":0.9,\"reward_fluency\":1.0,\"policy_entropy\":2.1}\n",
            "{\"step\":2,\"reward\":1.2,\"reward_intent\":0.4,\"reward_emotion\":0.1,\"reward_novelty\":0.9,\"policy_entropy\":2.0}\n",
        );
        // (fluency is logged on one line only: it still gets its line; a term on no line gets none)
        let svg = rewards_svg(log);
        assert_eq!(svg.matches("<polyline").count(), 6);
        assert!(svg.contains("fluency"));
        let older: String = log.lines().skip(1).map(|l| format!("{l}\n")).collect();
        assert_eq!(rewards_svg(&older).matches("<polyline").count(), 5);
        assert!(svg.contains("intent (judge)") && svg.contains("policy entropy"));
    }
}

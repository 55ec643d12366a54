//! The report as one standalone HTML file: inline style, no scripts, nothing fetched.

use super::{Content, Context};

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(super) fn html(c: &Content, cx: &Context) -> String {
    let mut body = String::new();
    body.push_str(&format!(
        "<header><div><h1>{}</h1><p class=\"meta\">{}</p></div><div class=\"patient\"><strong>{}</strong><br>{}</div></header>\n",
        escape(c.title),
        escape(&c.printed),
        escape(&c.patient),
        escape(&c.patient_line)
    ));
    match (&c.latest_heading, &c.result) {
        (Some(heading), Some((pct, band, kind, line))) => {
            body.push_str(&format!(
                "<h2>{}</h2>\n<p class=\"band {}\"><span class=\"pct\">{}</span> {}</p>\n<p>{}</p>\n",
                escape(heading),
                kind.as_str(),
                escape(pct),
                escape(band),
                escape(line)
            ));
            body.push_str(&format!(
                "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>\n",
                cx.t("Measurement", "Medición"),
                cx.t("Value", "Valor"),
                cx.t("Contribution", "Contribución")
            ));
            for (label, value, contribution) in &c.measurements {
                body.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                    escape(label),
                    escape(value),
                    escape(contribution)
                ));
            }
            body.push_str("</tbody></table>\n");
        }
        _ => body.push_str(&format!(
            "<p>{}</p>\n",
            cx.t(
                "No assessments for this patient yet.",
                "Este paciente aún no tiene evaluaciones."
            )
        )),
    }
    if !c.history.is_empty() {
        body.push_str(&format!(
            "<h2>{}</h2><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>\n",
            cx.t("Recent history", "Historial reciente"),
            cx.t("When (UTC)", "Cuándo (UTC)"),
            cx.t("Risk", "Riesgo"),
            cx.t("Band", "Categoría"),
            cx.t("By", "Por")
        ));
        for row in &c.history {
            body.push_str("<tr>");
            for cell in row {
                body.push_str(&format!("<td>{}</td>", escape(cell)));
            }
            body.push_str("</tr>\n");
        }
        body.push_str("</tbody></table>\n");
    }
    body.push_str(&format!("<p class=\"meta\">{}</p>\n", escape(c.disclaimer)));
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>{} — {}</title><style>{}</style></head><body>\n{}</body></html>\n",
        if cx.spanish { "es" } else { "en" },
        escape(c.title),
        escape(&c.patient),
        STYLE,
        body
    )
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;color:#1d2430;max-width:760px;margin:2em auto;font-size:14px}\
header{display:flex;justify-content:space-between;border-bottom:2px solid #14324f;padding-bottom:.6em}\
h1{font-size:1.4em;margin:0}h2{font-size:1.1em;margin:1.2em 0 .4em}.meta{color:#5b6675;font-size:.85em}\
.patient{text-align:right}.band{padding:.5em .8em;border-radius:6px;font-weight:600}.pct{font-size:1.8em}\
.low{background:#e6f4ea;color:#1e7a3c}.moderate{background:#fff4dc;color:#8a5a00}.high{background:#fdecea;color:#b3261e}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid #d5dbe3}\
@media print{body{margin:0}}";

//! The report as one standalone HTML file: inline style, no scripts, nothing fetched.

use cardiorisk_contract::Report;

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

/// A table with a head row; every cell escaped.
fn table<'a>(heads: &[&str], rows: impl Iterator<Item = Vec<&'a str>>) -> String {
    let cells = |tag: &str, cells: &[&str]| {
        let inner: String = cells
            .iter()
            .map(|c| format!("<{tag}>{}</{tag}>", escape(c)))
            .collect();
        format!("<tr>{inner}</tr>\n")
    };
    let mut out = format!(
        "<table><thead>{}</thead><tbody>\n",
        cells("th", heads).trim_end()
    );
    for row in rows {
        out.push_str(&cells("td", &row));
    }
    out.push_str("</tbody></table>\n");
    out
}

pub(super) fn html(c: &Report) -> String {
    let mut body = String::new();
    body.push_str(&format!(
        "<header><div><h1>{}</h1><p class=\"meta\">{}</p></div><div class=\"patient\"><strong>{}</strong><br>{}</div></header>\n",
        escape(&c.title),
        escape(&c.printed),
        escape(&c.patient),
        escape(&c.patient_line)
    ));
    match (&c.latest_heading, &c.result) {
        (Some(heading), Some(result)) => {
            let (pct, band, kind, line) = (
                &result.percent,
                &result.band_label,
                result.band,
                &result.line,
            );
            body.push_str(&format!(
                "<h2>{}</h2>\n<p class=\"band {}\"><span class=\"pct\">{}</span> {}</p>\n<p>{}</p>\n",
                escape(heading),
                kind.as_str(),
                escape(pct),
                escape(band),
                escape(line)
            ));
            let rows = c
                .measurements
                .iter()
                .map(|r| r.iter().map(String::as_str).collect());
            body.push_str(&table(
                &c.measurement_heads.each_ref().map(String::as_str),
                rows,
            ));
        }
        _ => body.push_str(&format!("<p>{}</p>\n", escape(&c.no_assessments))),
    }
    if !c.history.is_empty() {
        body.push_str(&format!("<h2>{}</h2>", escape(&c.history_title)));
        let rows = c
            .history
            .iter()
            .map(|r| r.iter().map(String::as_str).collect());
        body.push_str(&table(
            &c.history_heads.each_ref().map(String::as_str),
            rows,
        ));
    }
    body.push_str(&format!(
        "<p class=\"meta\">{}</p>\n",
        escape(&c.disclaimer)
    ));
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>{} — {}</title><style>{}</style></head><body>\n{}</body></html>\n",
        c.language.as_str(),
        escape(&c.title),
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

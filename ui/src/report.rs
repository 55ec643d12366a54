//! The one-page patient report: printed from the app, or exported to HTML or PDF
//! through the native save dialog (the backend writes the file). The page shows the
//! same report model the files are written from (`cardiorisk_contract::Report`).

use crate::assess::summary_of;
use crate::charts;
use crate::i18n::{error_text, lang, t, tr, units};
use crate::ipc::call;
use crate::session::Auth;
use crate::{Nav, Page};
use cardiorisk_contract::{
    command, CommandError, PatientArgs, Report, ReportArgs, ReportContext, ReportFormat,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn ReportPage(patient_id: i64) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let nav = expect_context::<Nav>();
    let record = LocalResource::new(move || {
        let args = PatientArgs {
            token: auth.token(),
            patient_id,
        };
        auth.call::<command::ReportRecord>(args)
    });
    let exported = RwSignal::new(None::<Result<Option<String>, CommandError>>);
    let export_action = Action::new_local(move |args: &ReportArgs| {
        let args = args.clone();
        async move {
            let result = auth.call::<command::ExportReport>(args).await;
            exported.set(Some(result));
        }
    });
    let export = move |format: ReportFormat| {
        export_action.dispatch(ReportArgs {
            token: auth.token(),
            patient_id,
            format,
            language: lang(),
            units: units(),
        });
    };
    let print = move |_| {
        spawn_local(async move {
            let args = PatientArgs {
                token: auth.token(),
                patient_id,
            };
            if let Err(e) = call::<command::PrintReport>(&args).await {
                exported.set(Some(Err(e)));
            }
        });
    };
    let signed = auth
        .session
        .get_untracked()
        .map(|s| s.user.display_name)
        .unwrap_or_default();

    view! {
        <div class="row spread no-print">
            <a href="#" on:click=move |ev| { ev.prevent_default(); nav.go(Page::Patient(patient_id)) }>{tr("patient-page-2")}</a>
            <div class="row">
                <button id="report-print" class="secondary" on:click=print>{tr("print")}</button>
                <button id="report-html" class="secondary" disabled=move || export_action.pending().get() on:click=move |_| export(ReportFormat::Html)>{tr("export-html")}</button>
                <button id="report-pdf" class="primary" disabled=move || export_action.pending().get() on:click=move |_| export(ReportFormat::Pdf)>{tr("export-pdf")}</button>
            </div>
        </div>
        <div class="no-print">
            {move || exported.get().map(|r| match r {
                Ok(Some(path)) => view! { <p class="ok" id="report-exported">{format!("{} {path}", t("saved-to"))}</p> }.into_any(),
                Ok(None) => view! { <p class="meta" id="report-exported">{tr("export-cancelled")}</p> }.into_any(),
                Err(e) => view! { <p class="alert" id="report-exported" role="alert">{error_text(&e)}</p> }.into_any(),
            })}
        </div>
        {move || match record.get() {
            None => view! { <p class="empty">{tr("loading")}</p> }.into_any(),
            Some(Err(e)) => view! { <p class="alert" role="alert">{error_text(&e)}</p> }.into_any(),
            Some(Ok(rec)) => {
                let printed_at = js_sys::Date::new_0().to_iso_string().as_string().unwrap_or_default();
                let report = Report::new(&rec, &ReportContext {
                    language: lang(),
                    units: units(),
                    printed_by: &signed,
                    printed_at: &printed_at,
                    zone: &crate::i18n::LocalZone,
                });
                let latest = rec.history.last().cloned();
                view! {
                    <article class="report card" id="report" lang=report.language.as_str()>
                        <header class="report-head">
                            <div>
                                <h1>{report.title.clone()}</h1>
                                <p class="meta">{report.printed.clone()}</p>
                            </div>
                            <div class="report-patient">
                                <strong id="report-patient">{report.patient.clone()}</strong>
                                <span>{report.patient_line.clone()}</span>
                            </div>
                        </header>
                        {match (latest, report.latest_heading.clone(), report.result.clone()) {
                            (Some(a), Some(heading), Some(result)) => view! {
                                <h2>{heading}</h2>
                                <div class="report-result">
                                    <div class="gauge" inner_html=charts::gauge(a.probability)></div>
                                    <div>
                                        <p class=format!("band band-{}", result.band.as_str())>
                                            <span class="probability">{result.percent}</span>
                                            <span class="band-label">{result.band_label}</span>
                                        </p>
                                        <p class="summary">{summary_of(&a)}</p>
                                        <p class="meta">{result.line}</p>
                                    </div>
                                </div>
                                {table(&report.measurement_heads, &report.measurements, &[1, 2], "report-measurements")}
                            }.into_any(),
                            _ => view! { <p class="empty">{report.no_assessments.clone()}</p> }.into_any(),
                        }}
                        {(!report.history.is_empty()).then(|| view! {
                            <h2>{report.history_title.clone()}</h2>
                            {table(&report.history_heads, &report.history, &[1], "report-history")}
                        })}
                        <p class="meta disclaimer">{report.disclaimer.clone()}</p>
                    </article>
                }.into_any()
            }
        }}
    }
}

/// One of the report's tables, the columns in `numeric` aligned as numbers.
fn table<const N: usize>(
    heads: &[String; N],
    rows: &[[String; N]],
    numeric: &'static [usize],
    id: &'static str,
) -> impl IntoView {
    let heads = heads.clone();
    let rows = rows.to_vec();
    view! {
        <table class="table" id=id>
            <thead><tr>{heads.into_iter().map(|h| view! { <th>{h}</th> }).collect_view()}</tr></thead>
            <tbody>
                {rows.into_iter().map(|row| view! {
                    <tr>{row.into_iter().enumerate().map(|(i, cell)| {
                        let class = if numeric.contains(&i) { "num" } else { "" };
                        view! { <td class=class>{cell}</td> }
                    }).collect_view()}</tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

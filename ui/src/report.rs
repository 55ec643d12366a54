//! The one-page patient report: printed from the app, or exported to HTML or PDF
//! through the native save dialog (the backend writes the file).

use crate::assess::summary_of;
use crate::charts;
use crate::i18n::{
    band_label, error_text, field_label, field_unit, lang, show_value, t, tr, units, when,
};
use crate::ipc::call;
use crate::session::Auth;
use crate::{Nav, Page};
use cardiorisk_contract::{
    command, percent_text, CommandError, FieldKind, Language, NoArgs, PatientArgs, PatientRecord,
    ReportArgs, ReportFormat, Units, FIELDS,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// Assessments listed on the page; older ones are in the patient's record.
const HISTORY_ROWS: usize = 8;

#[component]
pub fn ReportPage(patient_id: i64) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let nav = expect_context::<Nav>();
    let record = RwSignal::new(None::<Result<PatientRecord, CommandError>>);
    let exported = RwSignal::new(None::<Result<Option<String>, CommandError>>);
    let args = PatientArgs {
        token: auth.token(),
        patient_id,
    };
    spawn_local(async move {
        let result = call(command::PATIENT_RECORD, &args).await;
        if let Err(e) = &result {
            auth.check(e);
        }
        record.set(Some(result));
    });
    let export = move |format: ReportFormat| {
        let args = ReportArgs {
            token: auth.token(),
            patient_id,
            format,
            language: Language::parse(lang().code()).unwrap_or(Language::English),
            units: Units::parse(units().code()).unwrap_or(Units::Original),
        };
        spawn_local(async move {
            let result = call::<_, Option<String>>(command::EXPORT_REPORT, &args).await;
            if let Err(e) = &result {
                auth.check(e);
            }
            exported.set(Some(result));
        });
    };
    let print = move |_| {
        spawn_local(async move {
            if let Err(e) = call::<_, ()>(command::PRINT_PAGE, &NoArgs {}).await {
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
            <a href="#" on:click=move |ev| { ev.prevent_default(); nav.go(Page::Patient(patient_id)) }>{tr("← Patient page", "← Ficha del paciente")}</a>
            <div class="row">
                <button id="report-print" class="secondary" on:click=print>{tr("Print…", "Imprimir…")}</button>
                <button id="report-html" class="secondary" on:click=move |_| export(ReportFormat::Html)>{tr("Export HTML…", "Exportar HTML…")}</button>
                <button id="report-pdf" class="primary" on:click=move |_| export(ReportFormat::Pdf)>{tr("Export PDF…", "Exportar PDF…")}</button>
            </div>
        </div>
        <div class="no-print">
            {move || exported.get().map(|r| match r {
                Ok(Some(path)) => view! { <p class="ok" id="report-exported">{format!("{} {path}", t("Saved to", "Guardado en"))}</p> }.into_any(),
                Ok(None) => view! { <p class="meta" id="report-exported">{tr("Export cancelled.", "Exportación cancelada.")}</p> }.into_any(),
                Err(e) => view! { <p class="alert" id="report-exported" role="alert">{error_text(&e)}</p> }.into_any(),
            })}
        </div>
        {move || match record.get() {
            None => view! { <p class="empty">{tr("Loading…", "Cargando…")}</p> }.into_any(),
            Some(Err(e)) => view! { <p class="alert" role="alert">{error_text(&e)}</p> }.into_any(),
            Some(Ok(rec)) => {
                let p = rec.patient.clone();
                let latest = rec.history.last().cloned();
                let recent: Vec<_> = rec.history.iter().rev().take(HISTORY_ROWS).cloned().collect();
                let signed = signed.clone();
                view! {
                    <article class="report card" id="report">
                        <header class="report-head">
                            <div>
                                <h1>{tr("Cardiac risk report", "Informe de riesgo cardíaco")}</h1>
                                <p class="meta">{move || format!("CardioRisk · {} {} · {} {}", t("printed", "impreso"),
                                    when(&js_sys::Date::new_0().to_iso_string().as_string().unwrap_or_default()), t("by", "por"), signed)}</p>
                            </div>
                            <div class="report-patient">
                                <strong id="report-patient">{p.name.clone()}</strong>
                                <span>{move || format!("{} {}", t("Record no.", "N.º historia"), p.record_number)}</span>
                                <span>{move || p.birth_year.map(|y| format!("{} {y}", t("Born", "Nacido en"))).unwrap_or_default()}</span>
                            </div>
                        </header>
                        {match latest {
                            None => view! { <p class="empty">{tr("No assessments for this patient yet.", "Este paciente aún no tiene evaluaciones.")}</p> }.into_any(),
                            Some(a) => {
                                let summary_record = a.clone();
                                view! {
                                    <h2>{move || format!("{} {}", t("Latest assessment,", "Última evaluación,"), when(&a.created_at))}</h2>
                                    <div class="report-result">
                                        <div class="gauge" inner_html=charts::gauge(a.probability)></div>
                                        <div>
                                            <p class=format!("band band-{}", a.band.as_str())>
                                                <span class="probability">{percent_text(a.probability)}</span>
                                                <span class="band-label">{move || band_label(a.band)}</span>
                                            </p>
                                            <p class="summary">{move || summary_of(&summary_record)}</p>
                                            <p class="meta">{move || format!("{} {} · {} {}", t("Model", "Modelo"), a.model_version, t("assessed by", "evaluado por"), a.username.clone().unwrap_or_default())}</p>
                                        </div>
                                    </div>
                                    <table class="table">
                                        <thead><tr><th>{tr("Measurement", "Medición")}</th><th>{tr("Value", "Valor")}</th><th>{tr("Contribution", "Contribución")}</th></tr></thead>
                                        <tbody>
                                            {FIELDS.iter().zip(a.inputs.to_array()).zip(a.contributions.clone()).map(|((f, v), c)| view! {
                                                <tr>
                                                    <td>{move || field_label(f)}</td>
                                                    <td class="num">{move || match f.kind {
                                                        FieldKind::Flag => show_value(f, v),
                                                        _ => format!("{} {}", show_value(f, v), field_unit(f)),
                                                    }}</td>
                                                    <td class="num">{format!("{:+.1} pts", (c.value * 1000.0).round() / 10.0 + 0.0)}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }
                        }}
                        {(!recent.is_empty()).then(|| view! {
                            <h2>{tr("Recent history", "Historial reciente")}</h2>
                            <crate::patients::HistoryTable id="report-history" rows=recent/>
                        })}
                        <p class="meta disclaimer">{tr(
                            "Estimated by a statistical model from six measurements; it supports and does not replace clinical judgement.",
                            "Estimación de un modelo estadístico a partir de seis mediciones; apoya y no sustituye el juicio clínico.")}</p>
                    </article>
                }.into_any()
            }
        }}
    }
}

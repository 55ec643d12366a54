//! Patients: search, register, edit, and the patient page with history and charts.

use crate::charts::{index_range, Band, LineChart, Series, AMBER, BLUE, GREEN, RED};
use crate::i18n::{
    band_label, day_month, error_text, factor, field_label, field_unit, lang, show_value, t, tr,
    when,
};
use crate::session::Auth;
use crate::widgets::{ErrorLine, TextInput};
use crate::{Nav, Page};
use cardiorisk_contract::{
    command, percent_text, AssessmentRecord, CommandError, CreatePatientArgs, FieldError,
    FieldKind, Patient, PatientArgs, PatientInput, Role, SearchPatientsArgs, UpdatePatientArgs,
    FIELDS,
};
use leptos::prelude::*;
use plotters::chart::SeriesLabelPosition;

const SEARCH_LIMIT: u32 = 50;

#[component]
pub fn PatientsPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let nav = expect_context::<Nav>();
    let query = RwSignal::new(String::new());
    let registering = RwSignal::new(false);

    // Searched again at every keystroke; the resource shows the answer to the latest.
    let found = LocalResource::new(move || {
        let args = SearchPatientsArgs {
            token: auth.token(),
            query: query.get(),
            limit: SEARCH_LIMIT,
        };
        auth.call::<command::SearchPatients>(args)
    });

    view! {
        <section class="card" aria-labelledby="patients-title">
            <div class="row spread">
                <h1 id="patients-title">{tr("patients")}</h1>
                <button id="patient-new" class="primary" on:click=move |_| registering.set(true)>
                    {tr("register-patient")}
                </button>
            </div>
            {move || registering.get().then(|| view! {
                <PatientForm existing=None
                    on_saved=move |p: Patient| { registering.set(false); nav.go(Page::Patient(p.id)); }
                    on_cancel=move || registering.set(false)/>
            })}
            <form class="row" on:submit=move |ev| { ev.prevent_default(); found.refetch(); }>
                <div class="field compact wide">
                    <label for="patient-search"><span class="label">
                        {tr("search-by-name-or-record-number")}
                    </span></label>
                    <input id="patient-search" type="search" autocomplete="off"
                        prop:value=move || query.get()
                        on:input=move |ev| query.set(event_target_value(&ev))/>
                </div>
            </form>
            {move || match found.get() {
                None => view! { <p class="empty">{tr("loading")}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="alert" role="alert">{error_text(&e)}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() && query.get_untracked().trim().is_empty() => view! {
                    <p class="empty" id="patients-empty">{tr("no-patients-yet-register-the-first")}</p>
                }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! {
                    <p class="empty" id="patients-none">{tr("no-patient-matches-check-the-spelling")}</p>
                }.into_any(),
                Some(Ok(list)) => view! {
                    <table class="table clickable" id="patients">
                        <thead><tr>
                            <th>{tr("record-no-2")}</th>
                            <th>{tr("name")}</th>
                            <th>{tr("born")}</th>
                            <th>{tr("last-change")}</th>
                        </tr></thead>
                        <tbody>
                            {list.into_iter().map(|p| {
                                let id = p.id;
                                view! {
                                    <tr data-id=id tabindex="0"
                                        on:click=move |_| nav.go(Page::Patient(id))
                                        on:keydown=move |ev| if ev.key() == "Enter" { nav.go(Page::Patient(id)) }>
                                        <td>{p.record_number}</td>
                                        <td><a href="#" class="patient-link" on:click=move |ev| { ev.prevent_default(); nav.go(Page::Patient(id)) }>{p.name}</a></td>
                                        <td>{p.birth_year.map(|y| y.to_string()).unwrap_or_default()}</td>
                                        <td>{when(&p.updated_at)}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            }}
        </section>
    }
}

/// Registers a new patient (`existing` is `None`) or edits one.
#[component]
pub fn PatientForm(
    existing: Option<Patient>,
    on_saved: impl Fn(Patient) + Copy + Send + Sync + 'static,
    on_cancel: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let editing = existing.as_ref().map(|p| p.id);
    let record_number = RwSignal::new(
        existing
            .as_ref()
            .map(|p| p.record_number.clone())
            .unwrap_or_default(),
    );
    let name = RwSignal::new(
        existing
            .as_ref()
            .map(|p| p.name.clone())
            .unwrap_or_default(),
    );
    let birth_year = RwSignal::new(
        existing
            .as_ref()
            .and_then(|p| p.birth_year)
            .map(|y| y.to_string())
            .unwrap_or_default(),
    );
    let notes = RwSignal::new(existing.map(|p| p.notes).unwrap_or_default());
    let errors = RwSignal::new(None::<CommandError>);
    let save = Action::new_local(move |patient: &PatientInput| {
        let (token, patient) = (auth.token(), patient.clone());
        async move {
            let result = match editing {
                None => {
                    let args = CreatePatientArgs { token, patient };
                    auth.call::<command::CreatePatient>(args).await
                }
                Some(patient_id) => {
                    let args = UpdatePatientArgs {
                        token,
                        patient_id,
                        patient,
                    };
                    auth.call::<command::UpdatePatient>(args).await
                }
            };
            match result {
                Ok(p) => on_saved(p),
                Err(e) => errors.set(Some(e)),
            }
        }
    });
    let busy = save.pending();

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let year_text = birth_year.get_untracked();
        let year = match year_text.trim() {
            "" => None,
            text => match text.parse::<i32>() {
                Ok(y) => Some(y),
                Err(_) => {
                    errors.set(Some(FieldError::rule("birth_year", &[]).into()));
                    return;
                }
            },
        };
        let patient = PatientInput {
            record_number: record_number.get_untracked().trim().to_string(),
            name: name.get_untracked().trim().to_string(),
            birth_year: year,
            notes: notes.get_untracked(),
        };
        if let Err(problems) = patient.check() {
            errors.set(Some(CommandError::fields(problems)));
            return;
        }
        save.dispatch(patient);
    };

    view! {
        <form class="subcard" id="patient-form" on:submit=submit novalidate>
            <h2>{move || if editing.is_some() { t("edit-patient") } else { t("register-patient") }}</h2>
            <div class="fields">
                <TextInput id="patient-record" label="record-number" value=record_number field="record_number" errors=errors/>
                <TextInput id="patient-name" label="full-name" value=name field="name" errors=errors/>
                <TextInput id="patient-birth-year" label="year-of-birth-optional" value=birth_year field="birth_year" errors=errors/>
                <div class="field">
                    <label for="patient-notes"><span class="label">{tr("notes-optional")}</span></label>
                    <textarea id="patient-notes" rows="2"
                        prop:value=move || notes.get()
                        on:input=move |ev| notes.set(event_target_value(&ev))></textarea>
                </div>
            </div>
            {move || errors.get().filter(|e| e.fields.is_empty()).map(|e| view! {
                <p class="alert" id="patient-form-error" role="alert">{error_text(&e)}</p>
            })}
            <div class="row">
                <button id="patient-save" type="submit" class="primary" disabled=move || busy.get()>
                    {tr("save")}
                </button>
                <button type="button" class="secondary" on:click=move |_| on_cancel()>{tr("cancel")}</button>
            </div>
        </form>
    }
}

fn measurement_chart(spec_index: usize, history: &[AssessmentRecord], labels: &[String]) -> String {
    let spec = FIELDS[spec_index];
    let points: Vec<(f64, f64)> = history
        .iter()
        .enumerate()
        .map(|(i, r)| (i as f64, r.inputs.to_array()[spec_index] * factor(&spec)))
        .collect();
    let scale = factor(&spec);
    let pad = if spec.kind == FieldKind::Flag {
        0.1
    } else {
        0.0
    };
    let unit = field_unit(&spec);
    // The field's name is the chart's heading; the axis carries only the unit.
    let desc = if unit.is_empty() {
        t("n-0-no-1-yes").to_string()
    } else {
        unit.to_string()
    };
    LineChart {
        width: 380,
        height: 200,
        x: index_range(history.len()),
        y: (spec.min * scale - pad)..(spec.max * scale + pad),
        x_desc: "",
        y_desc: &desc,
        x_labels: labels,
        bands: &[],
        series: &[Series {
            label: desc.clone(),
            color: BLUE,
            points,
        }],
        dots: true,
        legend_at: SeriesLabelPosition::LowerRight,
    }
    .svg()
}

fn risk_chart(history: &[AssessmentRecord], labels: &[String]) -> String {
    let points = history
        .iter()
        .enumerate()
        .map(|(i, r)| (i as f64, r.probability * 100.0))
        .collect();
    LineChart {
        width: 780,
        height: 260,
        x: index_range(history.len()),
        y: 0.0..100.0,
        x_desc: t("assessment-date"),
        y_desc: t("risk"),
        x_labels: labels,
        bands: &[
            Band {
                from: 0.0,
                to: 20.0,
                color: GREEN,
            },
            Band {
                from: 20.0,
                to: 50.0,
                color: AMBER,
            },
            Band {
                from: 50.0,
                to: 100.0,
                color: RED,
            },
        ],
        series: &[Series {
            label: t("risk-2").into(),
            color: BLUE,
            points,
        }],
        dots: true,
        legend_at: SeriesLabelPosition::LowerRight,
    }
    .svg()
}

#[component]
pub fn PatientPage(patient_id: i64) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let nav = expect_context::<Nav>();
    let editing = RwSignal::new(false);
    let record = LocalResource::new(move || {
        let args = PatientArgs {
            token: auth.token(),
            patient_id,
        };
        auth.call::<command::PatientRecord>(args)
    });
    let load = move || record.refetch();
    let failure = RwSignal::new(None::<CommandError>);

    view! {
        <p><a href="#" id="back-to-patients" on:click=move |ev| { ev.prevent_default(); nav.go(Page::Patients) }>
            {tr("all-patients")}</a></p>
        <ErrorLine id="patient-error" error=failure/>
        {move || match record.get() {
            None => view! { <p class="empty">{tr("loading")}</p> }.into_any(),
            Some(Err(e)) => view! { <p class="alert" role="alert">{error_text(&e)}</p> }.into_any(),
            Some(Ok(rec)) => {
                let p = rec.patient.clone();
                let for_assess = p.clone();
                let record_number = p.record_number.clone();
                let is_admin = auth
                    .session
                    .get_untracked()
                    .is_some_and(|s| s.user.role == Role::Admin);
                let history = rec.history.clone();
                view! {
                    <section class="card" aria-labelledby="patient-title">
                        <div class="row spread">
                            <h1 id="patient-title">{p.name.clone()}</h1>
                            <div class="row">
                                <button id="patient-edit" class="secondary" on:click=move |_| editing.set(true)>{tr("edit")}</button>
                                <button id="patient-report" class="secondary" on:click=move |_| nav.go(Page::Report(patient_id))>{tr("report")}</button>
                                {is_admin.then(|| view! {
                                    <button id="patient-audit" class="secondary"
                                        on:click=move |_| nav.go(Page::Audit(Some(record_number.clone())))>
                                        {tr("who-looked-at-this-record")}</button>
                                })}
                                <button id="patient-assess" class="primary"
                                    on:click=move |_| nav.go(Page::Assess(Some(for_assess.clone())))>
                                    {tr("new-assessment")}</button>
                            </div>
                        </div>
                        <p class="meta" id="patient-details">
                            {move || format!("{} {} · {} {} · {}",
                                t("record-no-2"), p.record_number,
                                t("born-2"), p.birth_year.map(|y| y.to_string()).unwrap_or_else(|| "—".into()),
                                if p.notes.is_empty() { t("no-notes").to_string() } else { p.notes.clone() })}
                        </p>
                        {move || editing.get().then(|| view! {
                            <PatientForm existing=Some(rec.patient.clone())
                                on_saved=move |_| { editing.set(false); load(); }
                                on_cancel=move || editing.set(false)/>
                        })}
                    </section>
                    <History history=history/>
                }.into_any()
            }
        }}
    }
}

#[component]
fn History(history: Vec<AssessmentRecord>) -> impl IntoView {
    if history.is_empty() {
        return view! {
            <section class="card">
                <h2>{tr("history")}</h2>
                <p class="empty" id="history-empty">{tr("no-assessments-for-this-patient-yet")}</p>
            </section>
        }
        .into_any();
    }
    // Day and month (local), with the time when two assessments share a day.
    let days: Vec<(String, String)> = history.iter().map(|r| day_month(&r.created_at)).collect();
    let shared_day = days.windows(2).any(|w| w[0].0 == w[1].0);
    let labels: Vec<String> = if shared_day {
        days.into_iter()
            .map(|(day, time)| format!("{day} {time}"))
            .collect()
    } else {
        days.into_iter().map(|(day, _)| day).collect()
    };
    let h = history.clone();
    let l = labels.clone();
    let risk = move || risk_chart(&h, &l);
    let h = history.clone();
    let measures = move || {
        (0..FIELDS.len())
            .map(|i| {
                view! {
                    <figure class="chart small" data-field=FIELDS[i].name>
                        <figcaption>{field_label(&FIELDS[i])}</figcaption>
                        <div inner_html=measurement_chart(i, &h, &labels)></div>
                    </figure>
                }
            })
            .collect_view()
    };
    let rows = history.into_iter().rev().collect::<Vec<_>>();
    view! {
        <section class="card" aria-labelledby="history-title">
            <h2 id="history-title">{tr("risk-over-time")}</h2>
            <div class="chart" id="risk-chart" inner_html=risk></div>
            <h3>{tr("measurements-over-time")}</h3>
            <div class="chart-grid" id="measure-charts">{measures}</div>
        </section>
        <section class="card">
            <h2>{tr("history")}</h2>
            <HistoryTable id="history" rows=rows/>
        </section>
    }
    .into_any()
}

#[component]
pub fn HistoryTable(id: &'static str, rows: Vec<AssessmentRecord>) -> impl IntoView {
    view! {
        <table id=id class="table">
            <thead><tr>
                <th>"#"</th><th>{tr("when")}</th>
                {FIELDS.iter().map(|f| view! { <th>{move || field_label(f)}
                    <span class="th-unit">{move || field_unit(f)}</span></th> }).collect_view()}
                <th>{tr("risk-2")}</th><th>{tr("result")}</th>
                <th>{tr("model")}</th><th>{tr("by")}</th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|r| {
                    let m = r.inputs;
                    view! {
                        <tr data-id=r.id>
                            <td>{r.id}</td>
                            <td>{when(&r.created_at)}</td>
                            {FIELDS.iter().zip(m.to_array()).map(|(f, v)| view! {
                                <td class="num">{move || show_value(f, v)}</td>
                            }).collect_view()}
                            <td class="num">{percent_text(lang(), r.probability)}</td>
                            <td><span class=format!("pill band-{}", r.band.as_str())>{move || band_label(r.band)}</span></td>
                            <td>{r.model_version.clone()}</td>
                            <td>{r.username.clone()}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

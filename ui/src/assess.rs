//! New assessment: the six inputs with inline validation, the result with a gauge,
//! contributions and a plain-language summary, what-if controls, recent assessments.

use crate::charts;
use crate::i18n::{
    band_label, error_text, factor, field_error, field_label, field_unit, lang, number,
    parse_shown, range_text, show_value, t, tf, tr, yes_no,
};
use crate::ipc;
use crate::patients::HistoryTable;
use crate::session::Auth;
use crate::{Nav, Page};
use cardiorisk_contract::{
    command, percent_text, AssessmentOutcome, AssessmentRecord, CommandError, Contribution,
    FieldKind, FieldSpec, Measurements, Patient, PredictArgs, Prediction, RecentArgs, RiskBand,
    WhatIfArgs, FIELDS, REFERENCE_PATIENT,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

const RECENT_SHOWN: u32 = 10;
/// How long an assessment may take before its button says it is working.
const SLOW_ANSWER: std::time::Duration = std::time::Duration::from_millis(150);

/// Text of one input as typed, and its inline error once it should be shown.
#[derive(Clone, Copy)]
struct FieldState {
    spec: FieldSpec,
    text: RwSignal<String>,
    touched: RwSignal<bool>,
}

impl FieldState {
    fn new(spec: FieldSpec) -> Self {
        let initial = if spec.kind == FieldKind::Flag {
            "0"
        } else {
            ""
        };
        FieldState {
            spec,
            text: RwSignal::new(initial.to_string()),
            touched: RwSignal::new(false),
        }
    }

    fn parsed(&self) -> Result<f64, String> {
        let text = self.text.get();
        parse_shown(&self.spec, &text).map_err(|p| field_error(&self.spec, p))
    }

    fn visible_error(&self) -> Option<String> {
        if self.touched.get() {
            self.parsed().err()
        } else {
            None
        }
    }
}

fn points(c: &Contribution) -> f64 {
    // Round before the sign so that a tiny negative never shows as "-0.0".
    (c.value * 1000.0).round() / 10.0 + 0.0
}

/// Each input's share of this result, as signed percentage points against the reference patient.
#[component]
fn Contributions(items: Vec<Contribution>) -> impl IntoView {
    let scale = items.iter().map(|c| c.value.abs()).fold(0.05, f64::max);
    let rows = items
        .into_iter()
        .zip(FIELDS)
        .map(|(c, spec)| {
            let points = points(&c);
            let width = format!("{:.1}%", c.value.abs() / scale * 50.0);
            let class = if points >= 0.05 {
                "bar up"
            } else if points <= -0.05 {
                "bar down"
            } else {
                "bar"
            };
            view! {
                <li class="contribution" data-field=spec.name>
                    <span class="c-label">{move || field_label(&spec)}</span>
                    <span class="c-track"><span class=class style:width=width></span></span>
                    <span class="c-value">{move || format!("{} pts", number(format!("{points:+.1}")))}</span>
                </li>
            }
        })
        .collect_view();
    view! {
        <h3>{tr("what-drove-this-result")}</h3>
        <p class="meta">{move || {
            let r = REFERENCE_PATIENT;
            let v = |i: usize| format!("{} {}", show_value(&FIELDS[i], r[i]), field_unit(&FIELDS[i]));
            tf("contribution-reference", &[
                ("age", &r[3].to_string()),
                ("colesterol", &v(0)),
                ("presion", &v(1)),
                ("glucosa", &v(2)),
            ])
        }}</p>
        <ul class="contributions" id="contributions">{rows}</ul>
    }
}

/// The summary of a stored assessment.
pub fn summary_of(r: &AssessmentRecord) -> String {
    summary_parts(r.probability, r.band, &r.contributions)
}

/// One or two sentences a clinician can read aloud.
pub fn summary(p: &Prediction) -> String {
    summary_parts(p.probability, p.band, &p.contributions)
}

fn summary_parts(probability: f64, band: RiskBand, contributions: &[Contribution]) -> String {
    let mut ranked: Vec<(FieldSpec, f64)> = FIELDS
        .iter()
        .copied()
        .zip(contributions.iter().map(points))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let raising: Vec<String> = ranked
        .iter()
        .filter(|(_, v)| *v >= 1.0)
        .take(2)
        .map(|(s, v)| {
            format!(
                "{} ({})",
                field_label(s).to_lowercase(),
                number(format!("{v:+.1}"))
            )
        })
        .collect();
    let lowering: Vec<String> = ranked
        .iter()
        .rev()
        .filter(|(_, v)| *v <= -1.0)
        .take(1)
        .map(|(s, v)| {
            format!(
                "{} ({})",
                field_label(s).to_lowercase(),
                number(format!("{v:+.1}"))
            )
        })
        .collect();
    let band = band_label(band).to_lowercase();
    let percent = percent_text(lang(), probability);
    let mut text = tf(
        "summary-probability",
        &[("percent", &percent), ("band", &band)],
    );
    text.push(' ');
    text.push_str(&match raising.as_slice() {
        [] => t("summary-nothing-raises").to_string(),
        [one] => tf("summary-raised-by", &[("first", one)]),
        [first, second, ..] => tf(
            "summary-raised-by-two",
            &[("first", first), ("second", second)],
        ),
    });
    if !raising.is_empty() {
        if let Some(l) = lowering.first() {
            text.push_str(&tf("summary-lowered-by", &[("field", l)]));
        }
        text.push(' ');
        text.push_str(t("summary-in-points"));
    }
    text
}

#[component]
fn Field(state: FieldState) -> impl IntoView {
    let spec = state.spec;
    let id = spec.name;
    let error_id = format!("error-{id}");
    let input = if spec.kind == FieldKind::Flag {
        view! {
            <select id=id name=id
                on:change=move |ev| { state.text.set(event_target_value(&ev)); state.touched.set(true); }
                prop:value=move || state.text.get()>
                <option value="0">{tr("no")}</option>
                <option value="1">{tr("yes")}</option>
            </select>
        }
        .into_any()
    } else {
        view! {
            <input id=id name=id type="text" inputmode="decimal" autocomplete="off"
                placeholder=move || format!("{}–{}", show_value(&spec, spec.min), show_value(&spec, spec.max))
                aria-describedby=error_id.clone()
                aria-invalid=move || state.visible_error().is_some().to_string()
                prop:value=move || state.text.get()
                on:input=move |ev| state.text.set(event_target_value(&ev))
                on:blur=move |_| state.touched.set(true)/>
        }
        .into_any()
    };
    view! {
        <div class="field" class:invalid=move || state.visible_error().is_some()>
            <label for=id>
                <span class="label">{move || field_label(&spec)}</span>
                <span class="unit">{move || field_unit(&spec)}</span>
            </label>
            {input}
            <div class="hint" id=format!("hint-{id}")>{move || if spec.kind == FieldKind::Flag { String::new() } else { range_text(&spec) }}</div>
            <div class="error" id=error_id role="alert">{move || state.visible_error().unwrap_or_default()}</div>
        </div>
    }
}

/// Sliders and toggles that rescore (without saving) as the clinician moves them.
#[component]
fn WhatIf(base: Measurements, base_probability: f64) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let start = base.to_array();
    let values: [RwSignal<f64>; 6] = std::array::from_fn(|i| RwSignal::new(start[i]));
    let result = RwSignal::new(None::<Result<Prediction, CommandError>>);
    let round_trip = RwSignal::new(None::<f64>);
    // Answers can overtake each other; only the latest request's answer is shown.
    let sequence = StoredValue::new(0u64);
    let rescore = move || {
        let inputs = Measurements::from_array(std::array::from_fn(|i| values[i].get_untracked()));
        let token = auth.token();
        let n = sequence.get_value() + 1;
        sequence.set_value(n);
        let started = js_sys::Date::now();
        spawn_local(async move {
            let answer = auth
                .call::<command::WhatIf>(WhatIfArgs { token, inputs })
                .await;
            if sequence.get_value() == n {
                round_trip.set(Some(js_sys::Date::now() - started));
                result.set(Some(answer));
            }
        });
    };
    let reset = move |_| {
        for (s, v) in values.iter().zip(base.to_array()) {
            s.set(v);
        }
        result.set(None);
        round_trip.set(None);
    };
    let controls = FIELDS
        .iter()
        .copied()
        .zip(values)
        .map(|(spec, value)| {
            let id = format!("whatif-{}", spec.name);
            let for_id = id.clone();
            if spec.kind == FieldKind::Flag {
                view! {
                    <label class="toggle" for=for_id>
                        <input type="checkbox" id=id
                            prop:checked=move || value.get() == 1.0
                            on:change=move |ev| { value.set(if event_target_checked(&ev) { 1.0 } else { 0.0 }); rescore(); }/>
                        {move || field_label(&spec)}
                    </label>
                }
                .into_any()
            } else {
                // Slider positions are in the shown unit; the value is kept in the model's.
                let step = move || if spec.kind == FieldKind::Decimal && factor(&spec) == 1.0 { "0.1" } else { "1" };
                view! {
                    <div class="slider">
                        <label for=for_id>{move || field_label(&spec)}</label>
                        <input type="range" id=id
                            min=move || spec.min * factor(&spec) max=move || spec.max * factor(&spec) step=step
                            prop:value=move || (value.get() * factor(&spec)).to_string()
                            on:input=move |ev| {
                                if let Ok(v) = event_target_value(&ev).parse::<f64>() {
                                    value.set(v / factor(&spec));
                                    rescore();
                                }
                            }/>
                        <output class="num">{move || format!("{} {}", show_value(&spec, value.get()), field_unit(&spec))}</output>
                    </div>
                }
                .into_any()
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="whatif-title" id="whatif">
            <div class="row spread">
                <h2 id="whatif-title">{tr("what-if")}</h2>
                <button class="secondary" id="whatif-reset" on:click=reset>{tr("back-to-the-assessed-values")}</button>
            </div>
            <p class="meta">{tr("move-a-slider-or-tick-a")}</p>
            <div class="whatif-grid">
                <div class="whatif-controls">{controls}</div>
                <div class="whatif-result" aria-live="polite">
                    {move || match result.get() {
                        None => view! { <p class="empty" id="whatif-empty">{tr("showing-the-assessed-result")}</p> }.into_any(),
                        Some(Err(e)) => view! { <p class="alert" role="alert">{error_text(&e)}</p> }.into_any(),
                        Some(Ok(p)) => {
                            let delta = (p.probability - base_probability) * 100.0;
                            view! {
                                <div class=format!("band band-{}", p.band.as_str())>
                                    <span class="probability small" id="whatif-probability">{percent_text(lang(), p.probability)}</span>
                                    <span class="band-label">{band_label(p.band)}</span>
                                </div>
                                <p id="whatif-delta" data-round-trip-ms=round_trip.get().map(|ms| format!("{ms:.1}")).unwrap_or_default()>
                                    {format!("{} {} · {}", number(format!("{delta:+.1}")), t("points-against-the-assessed-result"),
                                        round_trip.get().map(|ms| format!("{ms:.0} ms")).unwrap_or_default())}
                                </p>
                            }.into_any()
                        }
                    }}
                </div>
            </div>
        </section>
    }
}

#[component]
pub fn AssessmentPage(patient: Option<Patient>) -> impl IntoView {
    let nav = expect_context::<Nav>();
    let fields: Vec<FieldState> = FIELDS.iter().copied().map(FieldState::new).collect();
    let outcome = RwSignal::new(None::<(AssessmentOutcome, Measurements)>);
    let failure = RwSignal::new(None::<CommandError>);
    // From the click to the answer's arrival and to the painted result, in ms:
    // measured in the page for the benchmark (the E2E prints it), shown nowhere.
    let click_to_paint = RwSignal::new(None::<PaintTiming>);
    let clicked_at = StoredValue::new(0.0);
    let patient_id = patient.as_ref().map(|p| p.id);

    let auth = expect_context::<Auth>();
    let recent = LocalResource::new(move || {
        let args = RecentArgs {
            token: auth.token(),
            limit: RECENT_SHOWN,
        };
        auth.call::<command::RecentAssessments>(args)
    });
    let assess = Action::new_local(move |args: &PredictArgs| {
        let (args, inputs) = (args.clone(), args.inputs);
        let clicked = clicked_at.get_value();
        async move {
            match auth.call::<command::Predict>(args).await {
                Ok(o) => {
                    let answered = ipc::now_ms() - clicked;
                    click_to_paint.set(None);
                    outcome.set(Some((o, inputs)));
                    // The list below waits until the result is on screen: its call and
                    // its table do not delay the result's frame.
                    after_next_paint(move |frame| {
                        click_to_paint.set(Some(PaintTiming {
                            answered,
                            frame: frame - clicked,
                            painted: ipc::now_ms() - clicked,
                        }));
                        recent.refetch();
                    });
                }
                Err(e) => {
                    outcome.set(None);
                    failure.set(Some(e));
                }
            }
        }
    });
    let busy = assess.pending();
    // The button shows "Assessing…" only if the answer is slow: a change on screen
    // while the call is out makes the webview paint a frame, and on WebKitGTK the
    // answer then waits for that frame (measured: 2 ms without, 10 to 16 ms with).
    let shown_busy = RwSignal::new(false);
    Effect::new(move |_| {
        if busy.get() {
            set_timeout(
                move || {
                    if busy.get_untracked() {
                        shown_busy.set(true);
                    }
                },
                SLOW_ANSWER,
            );
        } else if shown_busy.get_untracked() {
            shown_busy.set(false);
        }
    });

    let submit_fields = fields.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        // The event's own time (the page's clock) includes the checks below.
        let now = ipc::now_ms();
        let at = ev.time_stamp();
        clicked_at.set_value(if at > 0.0 && at <= now { at } else { now });
        let mut values = [0.0; 6];
        let mut ok = true;
        for (i, f) in submit_fields.iter().enumerate() {
            if !f.touched.get_untracked() {
                f.touched.set(true);
            }
            match f.parsed() {
                Ok(v) => values[i] = v,
                Err(_) => ok = false,
            }
        }
        if !ok {
            outcome.set(None);
            return;
        }
        if failure.get_untracked().is_some() {
            failure.set(None);
        }
        assess.dispatch(PredictArgs {
            token: auth.token(),
            patient_id,
            inputs: Measurements::from_array(values),
        });
    };

    let field_views = fields
        .into_iter()
        .map(|state| view! { <Field state=state/> })
        .collect_view();
    let patient_name = patient.as_ref().map(|p| p.name.clone());
    let patient_line = patient.map(|p| {
        view! {
            <p class="patient-line" id="assess-patient">
                {move || format!("{} {} ({} {})", t("for"), p.name, t("record-no"), p.record_number)}
                " · "
                <a href="#" on:click=move |ev| { ev.prevent_default(); nav.go(Page::Patient(p.id)) }>{tr("patient-page")}</a>
            </p>
        }
    });
    let has_patient = patient_id.is_some();

    view! {
        <div class="columns">
            <section class="card form-card" aria-labelledby="form-title">
                <h1 id="form-title">{tr("new-assessment")}</h1>
                {patient_line.map(|v| v.into_any()).unwrap_or_else(|| view! {
                    <p class="patient-line" id="assess-patient">
                        {tr("no-patient-chosen-the-result-is")}
                        <a href="#" id="choose-patient" on:click=move |ev| { ev.prevent_default(); nav.go(Page::Patients) }>{tr("choose-a-patient")}</a>
                    </p>
                }.into_any())}
                <form on:submit=submit novalidate>
                    <div class="fields">{field_views}</div>
                    <button id="assess" type="submit" class="primary" disabled=move || shown_busy.get()>
                        {move || match (shown_busy.get(), has_patient) {
                            (true, _) => t("assessing"),
                            (false, true) => t("assess-and-save-to-the-record"),
                            (false, false) => t("assess"),
                        }}
                    </button>
                </form>
                {move || failure.get().map(|e| view! { <p class="alert" id="assess-error" role="alert">{error_text(&e)}</p> })}
            </section>
            <section class="card result-card" aria-live="polite" aria-labelledby="result-title">
                <h2 id="result-title">{tr("result")}</h2>
                {move || match outcome.get() {
                    None => view! {
                        <p class="empty" id="result-empty">{tr("enter-the-six-measurements-and-press")}</p>
                    }.into_any(),
                    Some((o, _)) => {
                        let p = o.prediction;
                        let band_class = format!("band band-{}", p.band.as_str());
                        let at_risk = p.at_risk;
                        let saved_to = patient_name.clone();
                        let pp = p.clone();
                        view! {
                            <div class="result" id="result"
                                data-click-to-answer-ms=move || click_to_paint.get().map(|t| format!("{:.1}", t.answered)).unwrap_or_default()
                                data-click-to-frame-ms=move || click_to_paint.get().map(|t| format!("{:.1}", t.frame)).unwrap_or_default()
                                data-click-to-paint-ms=move || click_to_paint.get().map(|t| format!("{:.1}", t.painted)).unwrap_or_default()>
                                <div class="gauge-row">
                                    <div class="gauge" id="gauge" inner_html=charts::gauge(p.probability)></div>
                                    <div class=band_class>
                                        <span class="probability" id="result-probability">{percent_text(lang(), p.probability)}</span>
                                        <span class="band-label">{move || band_label(p.band)}</span>
                                    </div>
                                </div>
                                <p class="verdict" id="result-class" data-at-risk=at_risk.to_string()>
                                    {move || format!("{}: {}", t("cardiac-risk"), yes_no(at_risk))}
                                </p>
                                <p class="summary" id="result-summary">{move || summary(&pp)}</p>
                                <p class="meta" id="result-meta">
                                    {move || {
                                        let saved = match &saved_to {
                                            Some(name) => format!("{} {name}", t("saved-to-the-record-of")),
                                            None => t("saved-unassigned").to_string(),
                                        };
                                        format!("{} {}. {} {} · {} ms · {} #{} {saved}.",
                                            t("probability-of-cardiac-risk-at-decision"),
                                            number(format!("{:.2}", p.threshold)), t("model"), p.model_version,
                                            number(format!("{:.2}", p.elapsed_ms)),
                                            t("assessment"), o.assessment_id)
                                    }}
                                </p>
                                <Contributions items=p.contributions.clone()/>
                            </div>
                        }.into_any()
                    }
                }}
            </section>
        </div>
        {move || outcome.get().map(|(o, inputs)| view! { <WhatIf base=inputs base_probability=o.prediction.probability/> })}
        <section class="card" aria-labelledby="recent-title">
            <h2 id="recent-title">{tr("recent-assessments")}</h2>
            {move || match recent.get() {
                None => view! { <p class="empty">{tr("loading")}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="alert" role="alert">{error_text(&e)}</p> }.into_any(),
                Some(Ok(rows)) if rows.is_empty() => view! {
                    <p class="empty" id="recent-empty">{tr("no-assessments-yet-results-you-assess")}</p>
                }.into_any(),
                Some(Ok(rows)) => view! { <HistoryTable id="recent" rows=rows/> }.into_any(),
            }}
        </section>
    }
}

/// From the click, in ms: the answer's arrival, the start of the next frame, and
/// that frame painted.
#[derive(Clone, Copy)]
struct PaintTiming {
    answered: f64,
    frame: f64,
    painted: f64,
}

/// Runs `then` with the time the next frame began, once that frame is painted: a
/// task queued from the frame's animation callback runs after its style, layout and
/// paint.
fn after_next_paint(then: impl FnOnce(f64) + 'static) {
    request_animation_frame(move || {
        let frame = ipc::now_ms();
        set_timeout(move || then(frame), std::time::Duration::ZERO)
    });
}

//! New assessment: the six inputs with inline validation, the result, and recent assessments.

use crate::ipc::call;
use cardiorisk_contract::{
    command, percent_text, AssessmentOutcome, AssessmentRecord, CommandError, FieldKind, FieldSpec,
    Measurements, PredictArgs, RecentArgs, RiskBand, FIELDS,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

const RECENT_SHOWN: u32 = 10;

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
        self.spec
            .parse(Some(&text))
            .map_err(|p| cardiorisk_contract::FieldError::new(&self.spec, p).message)
    }

    fn visible_error(&self) -> Option<String> {
        if self.touched.get() {
            self.parsed().err()
        } else {
            None
        }
    }
}

fn band_label(band: RiskBand) -> &'static str {
    match band {
        RiskBand::Low => "Low risk",
        RiskBand::Moderate => "Moderate risk",
        RiskBand::High => "High risk",
    }
}

fn flag_text(v: f64) -> &'static str {
    if v == 1.0 {
        "yes"
    } else {
        "no"
    }
}

/// Each input's share of this result, as signed percentage points against the reference patient.
#[component]
fn Contributions(items: Vec<cardiorisk_contract::Contribution>) -> impl IntoView {
    let scale = items.iter().map(|c| c.value.abs()).fold(0.05, f64::max);
    let rows = items
        .into_iter()
        .zip(FIELDS)
        .map(|(c, spec)| {
            // Round before the sign so that a tiny negative never shows as "-0.0".
            let points = (c.value * 1000.0).round() / 10.0 + 0.0;
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
                    <span class="c-label">{spec.label}</span>
                    <span class="c-track"><span class=class style:width=width></span></span>
                    <span class="c-value">{format!("{points:+.1} pts")}</span>
                </li>
            }
        })
        .collect_view();
    view! {
        <h3>"What drove this result"</h3>
        <p class="meta">"Change in risk, in percentage points, from a healthy reference patient (45 years, cholesterol 1.8 g/L, pressure 1.2, glucose 0.9 g/L, not overweight, non-smoker). Red raises the risk, green lowers it."</p>
        <ul class="contributions" id="contributions">{rows}</ul>
    }
}

#[component]
fn Field(state: FieldState) -> impl IntoView {
    let spec = state.spec;
    let id = spec.name;
    let error_id = format!("error-{id}");
    let hint = if spec.kind == FieldKind::Flag {
        String::new()
    } else {
        spec.range_text()
    };
    let input = if spec.kind == FieldKind::Flag {
        view! {
            <select id=id name=id
                on:change=move |ev| { state.text.set(event_target_value(&ev)); state.touched.set(true); }
                prop:value=move || state.text.get()>
                <option value="0">"No"</option>
                <option value="1">"Yes"</option>
            </select>
        }
        .into_any()
    } else {
        let step = if spec.kind == FieldKind::Whole {
            "1"
        } else {
            "0.1"
        };
        view! {
            <input id=id name=id type="text" inputmode="decimal" autocomplete="off"
                placeholder=format!("{}–{}", spec.min, spec.max)
                data-step=step
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
                <span class="label">{spec.label}</span>
                <span class="unit">{spec.unit}</span>
            </label>
            {input}
            <div class="hint">{hint}</div>
            <div class="error" id=error_id role="alert">{move || state.visible_error().unwrap_or_default()}</div>
        </div>
    }
}

#[component]
pub fn AssessmentPage() -> impl IntoView {
    let fields: Vec<FieldState> = FIELDS.iter().copied().map(FieldState::new).collect();
    let outcome = RwSignal::new(None::<AssessmentOutcome>);
    let failure = RwSignal::new(None::<CommandError>);
    let busy = RwSignal::new(false);
    let recent = RwSignal::new(None::<Result<Vec<AssessmentRecord>, CommandError>>);

    let auth = expect_context::<crate::session::Auth>();
    let load_recent = move || {
        let token = auth.token();
        spawn_local(async move {
            let args = RecentArgs {
                token,
                limit: RECENT_SHOWN,
            };
            let result = call(command::RECENT_ASSESSMENTS, &args).await;
            if let Err(e) = &result {
                auth.check(e);
            }
            recent.set(Some(result));
        })
    };
    load_recent();

    let submit_fields = fields.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut values = [0.0; 6];
        let mut ok = true;
        for (i, f) in submit_fields.iter().enumerate() {
            f.touched.set(true);
            match f.parsed() {
                Ok(v) => values[i] = v,
                Err(_) => ok = false,
            }
        }
        if !ok {
            outcome.set(None);
            return;
        }
        busy.set(true);
        failure.set(None);
        let args = PredictArgs {
            token: auth.token(),
            patient_id: None,
            inputs: Measurements::from_array(values),
        };
        spawn_local(async move {
            match call::<_, AssessmentOutcome>(command::PREDICT, &args).await {
                Ok(o) => {
                    outcome.set(Some(o));
                    load_recent();
                }
                Err(e) => {
                    auth.check(&e);
                    outcome.set(None);
                    failure.set(Some(e));
                }
            }
            busy.set(false);
        });
    };

    let field_views = fields
        .into_iter()
        .map(|state| view! { <Field state=state/> })
        .collect_view();

    view! {
        <div class="columns">
            <section class="card form-card" aria-labelledby="form-title">
                <h1 id="form-title">"New assessment"</h1>
                <form on:submit=submit novalidate>
                    <div class="fields">{field_views}</div>
                    <button id="assess" type="submit" class="primary" disabled=move || busy.get()>
                        {move || if busy.get() { "Assessing…" } else { "Assess" }}
                    </button>
                </form>
                {move || failure.get().map(|e| view! { <p class="alert" id="assess-error" role="alert">{e.message}</p> })}
            </section>
            <section class="card result-card" aria-live="polite" aria-labelledby="result-title">
                <h2 id="result-title">"Result"</h2>
                {move || match outcome.get() {
                    None => view! {
                        <p class="empty" id="result-empty">"Enter the six measurements and press Assess."</p>
                    }.into_any(),
                    Some(o) => {
                        let p = o.prediction;
                        let band_class = format!("band band-{}", p.band.as_str());
                        let verdict = if p.at_risk { "Cardiac risk: yes" } else { "Cardiac risk: no" };
                        view! {
                            <div class="result" id="result">
                                <div class=band_class>
                                    <span class="probability" id="result-probability">{percent_text(p.probability)}</span>
                                    <span class="band-label">{band_label(p.band)}</span>
                                </div>
                                <p class="verdict" id="result-class" data-at-risk=p.at_risk.to_string()>{verdict}</p>
                                <p class="meta">
                                    {format!("Probability of cardiac risk at decision threshold {:.2}. Model {} · {:.2} ms · saved as assessment #{}.",
                                        p.threshold, p.model_version, p.elapsed_ms, o.assessment_id)}
                                </p>
                                <Contributions items=p.contributions.clone()/>
                            </div>
                        }.into_any()
                    }
                }}
            </section>
        </div>
        <section class="card" aria-labelledby="recent-title">
            <h2 id="recent-title">"Recent assessments"</h2>
            {move || match recent.get() {
                None => view! { <p class="empty">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="alert" role="alert">{format!("Could not load recent assessments: {}", e.message)}</p> }.into_any(),
                Some(Ok(rows)) if rows.is_empty() => view! {
                    <p class="empty" id="recent-empty">"No assessments yet. Results you assess are saved here."</p>
                }.into_any(),
                Some(Ok(rows)) => view! {
                    <table id="recent" class="table">
                        <thead><tr>
                            <th>"#"</th><th>"When (UTC)"</th><th>"Cholesterol"</th><th>"Pressure"</th>
                            <th>"Glucose"</th><th>"Age"</th><th>"Overweight"</th><th>"Smoker"</th>
                            <th>"Risk"</th><th>"Result"</th>
                        </tr></thead>
                        <tbody>
                            {rows.into_iter().map(|r| {
                                let m = r.inputs;
                                view! {
                                    <tr data-id=r.id>
                                        <td>{r.id}</td>
                                        <td>{r.created_at.replace('T', " ").chars().take(19).collect::<String>()}</td>
                                        <td>{format!("{:.1}", m.colesterol)}</td>
                                        <td>{format!("{:.1}", m.presion)}</td>
                                        <td>{format!("{:.1}", m.glucosa)}</td>
                                        <td>{m.edad}</td>
                                        <td>{flag_text(m.sobrepeso)}</td>
                                        <td>{flag_text(m.tabaquismo)}</td>
                                        <td class="num">{percent_text(r.probability)}</td>
                                        <td><span class=format!("pill band-{}", r.band.as_str())>{band_label(r.band)}</span></td>
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

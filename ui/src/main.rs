//! CardioRisk's user interface (Leptos, client-side rendered, in the Tauri webview).

mod admin;
mod assess;
mod audit;
mod charts;
mod i18n;
mod ipc;
mod model;
mod patients;
mod report;
mod session;
mod settings;
mod widgets;

use cardiorisk_contract::{
    command, ModelStatus, NoArgs, Patient, PreferenceArgs, Role, UiReadyArgs, PREF_LANGUAGE,
    PREF_UNITS,
};
use i18n::{t, tr, Language, Units};
use leptos::prelude::*;
use leptos::task::spawn_local;
use session::{Auth, RecoveryKeyCard, SetupForm, SignInForm};

/// Where the signed-in user is.
#[derive(Clone, PartialEq, Debug)]
pub enum Page {
    Patients,
    Patient(i64),
    Report(i64),
    Assess(Option<Patient>),
    /// The audit log, filtered by a patient's record number when given.
    Audit(Option<String>),
    Admin,
    Model,
    Settings,
}

#[derive(Clone, Copy)]
pub struct Nav(RwSignal<Page>);

impl Nav {
    pub fn go(&self, page: Page) {
        self.0.set(page);
    }
}

/// Which model scores patients; reloaded after an activation.
#[derive(Clone, Copy)]
pub struct ModelInfo(pub RwSignal<Option<ModelStatus>>);

/// The latest retraining status the backend pushed (event "training").
#[derive(Clone, Copy)]
pub struct TrainingFeed(pub RwSignal<Option<cardiorisk_contract::TrainingStatus>>);

/// How many audit events the backend has pushed (event "audit", after each commit):
/// the audit log page follows it, and the status bar reloads the model on activation
/// or restore, whoever caused them.
#[derive(Clone, Copy)]
pub struct AuditFeed(pub RwSignal<u64>);

impl ModelInfo {
    pub fn reload(&self) {
        let status = self.0;
        spawn_local(async move {
            if let Ok(s) = ipc::call::<command::ModelStatus>(&NoArgs {}).await {
                status.set(Some(s));
            }
        });
    }
}

/// Remembers a display preference for this installation (once signed in).
fn remember(key: &'static str, value: &'static str) {
    let auth = expect_context::<Auth>();
    let token = auth.token();
    if !token.is_empty() {
        spawn_local(async move {
            let args = PreferenceArgs {
                token,
                key: key.to_string(),
                value: value.to_string(),
            };
            // The choice already applies on screen; a refusal only means it is not kept.
            let _ = auth.call::<command::SetPreference>(args).await;
        });
    }
}

/// Switches the interface language.
pub fn choose_language(lang: Language) {
    i18n::init().set(lang);
    remember(PREF_LANGUAGE, lang.as_str());
}

/// Switches the units the measurements are shown and typed in.
pub fn choose_units(units: Units) {
    i18n::init_units().set(units);
    remember(PREF_UNITS, units.as_str());
}

#[component]
fn LanguageSwitch(id: &'static str) -> impl IntoView {
    view! {
        <label class="lang" for=id>
            <span class="sr-only">{tr("language")}</span>
            <select id=id
                prop:value=move || i18n::lang().as_str()
                on:change=move |ev| choose_language(Language::parse(&event_target_value(&ev)).unwrap_or_default())>
                <option value="en">"English"</option>
                <option value="es">"Español"</option>
            </select>
        </label>
    }
}

#[component]
fn Tab(id: &'static str, page: Page, label: &'static str) -> impl IntoView {
    let nav = expect_context::<Nav>();
    let kind = std::mem::discriminant(&page);
    let is_patients = page == Page::Patients;
    let active = move || {
        let now = nav.0.get();
        std::mem::discriminant(&now) == kind
            || (is_patients && matches!(now, Page::Patient(_) | Page::Report(_)))
    };
    view! {
        <button id=id class="tab" class:active=active
            aria-current=move || if active() { "page" } else { "false" }
            on:click=move |_| nav.go(page.clone())>{move || t(label)}</button>
    }
}

#[component]
fn App() -> impl IntoView {
    let lang = i18n::init();
    let units = i18n::init_units();
    let model = ModelInfo(RwSignal::new(None));
    provide_context(model);
    let training = TrainingFeed(RwSignal::new(None));
    ipc::listen("training", move |status| training.0.set(Some(status)));
    provide_context(training);
    let audit_feed = AuditFeed(RwSignal::new(0));
    // What committed since the last notice (at most every 250 ms).
    ipc::listen(
        "audit",
        move |actions: Vec<cardiorisk_contract::AuditAction>| {
            audit_feed.0.update(|n| *n += 1);
            use cardiorisk_contract::AuditAction::{DatabaseRestored, ModelActivated};
            if actions
                .iter()
                .any(|a| matches!(a, ModelActivated | DatabaseRestored))
            {
                model.reload();
            }
        },
    );
    provide_context(audit_feed);
    let auth = Auth {
        session: RwSignal::new(None),
        notice: RwSignal::new(None),
        recovery_key: RwSignal::new(None),
        recovery_reissued: RwSignal::new(false),
    };
    provide_context(auth);
    let nav = Nav(RwSignal::new(Page::Patients));
    provide_context(nav);
    let needs_setup = RwSignal::new(None::<bool>);
    // Once anyone has signed in, set-up is done for good; each sign-in starts at Patients.
    Effect::new(move || {
        if auth.session.get().is_some() {
            needs_setup.set(Some(false));
            nav.go(Page::Patients);
            // The data opened with this sign-in: its model and the clinic's preferences.
            model.reload();
            spawn_local(async move {
                if let Ok(p) = ipc::call::<command::Preferences>(&NoArgs {}).await {
                    lang.set(p.language);
                    units.set(p.units);
                }
            });
        }
    });
    Effect::new(move || {
        let code = lang.get().as_str();
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("lang", code);
        }
    });
    model.reload();
    // The session's idle clock runs from the user's last key, click or scroll.
    let _ = window_event_listener(leptos::ev::keydown, |_| ipc::note_input());
    let _ = window_event_listener(leptos::ev::pointerdown, |_| ipc::note_input());
    let _ = window_event_listener(leptos::ev::wheel, |_| ipc::note_input());
    set_interval(
        move || auth.expire_when_idle(),
        std::time::Duration::from_secs(1),
    );
    spawn_local(async move {
        if let Ok(p) = ipc::call::<command::Preferences>(&NoArgs {}).await {
            lang.set(p.language);
            units.set(p.units);
        }
        match ipc::call::<command::NeedsSetup>(&NoArgs {}).await {
            Ok(v) => needs_setup.set(Some(v)),
            Err(e) => auth.notice.set(Some(e.message)),
        }
        // The first screen (set-up or sign-in) is painted by the frame after next:
        // say so then, with when the wasm began (the support log notes both).
        request_animation_frame(|| {
            request_animation_frame(|| {
                let args = UiReadyArgs {
                    wasm_ms: WASM_STARTED_MS.get().copied().unwrap_or_default(),
                    painted_ms: ipc::now_ms(),
                };
                spawn_local(async move {
                    let _ = ipc::call_passive::<command::UiReady>(&args).await;
                })
            })
        });
    });
    view! {
        <a class="skip" href="#main">{tr("skip-to-content")}</a>
        <header class="topbar">
            <span class="brand">"CardioRisk"</span>
            {move || auth.session.get().map(|s| {
                let admin = s.user.role == Role::Admin;
                view! {
                    <nav class="tabs" aria-label=tr("sections")>
                        <Tab id="tab-patients" page=Page::Patients label="patients"/>
                        <Tab id="tab-assess" page=Page::Assess(None) label="new-assessment"/>
                        {admin.then(|| view! {
                            <Tab id="tab-audit" page=Page::Audit(None) label="tab-audit"/>
                            <Tab id="tab-admin" page=Page::Admin label="administration"/>
                            <Tab id="tab-model" page=Page::Model label="model"/>
                        })}
                        <Tab id="tab-settings" page=Page::Settings label="settings"/>
                    </nav>
                }
            })}
            <span class="spacer"></span>
            <LanguageSwitch id="language-top"/>
            {move || auth.session.get().map(|s| view! {
                <span class="who" id="who">{move || format!("{} ({})", s.user.display_name,
                    if s.user.role == Role::Admin { t("admin") } else { t("clinician") })}</span>
                <button id="sign-out" class="link" on:click=move |_| auth.sign_out()>{tr("sign-out")}</button>
            })}
        </header>
        {move || model.0.get().and_then(|s| s.warning).map(|w| view! {
            <div class="banner" id="model-warning" role="alert">{w}</div>
        })}
        <main class="page" id="main">
            {move || match (auth.session.get().is_some(), needs_setup.get()) {
                (true, _) if auth.recovery_key.get().is_some() => view! { <RecoveryKeyCard/> }.into_any(),
                (true, _) => match nav.0.get() {
                    Page::Patients => view! { <patients::PatientsPage/> }.into_any(),
                    Page::Patient(id) => view! { <patients::PatientPage patient_id=id/> }.into_any(),
                    Page::Report(id) => view! { <report::ReportPage patient_id=id/> }.into_any(),
                    Page::Assess(p) => view! { <assess::AssessmentPage patient=p/> }.into_any(),
                    Page::Audit(patient) => view! { <audit::AuditPage patient=patient/> }.into_any(),
                    Page::Admin => view! { <admin::AdminPage/> }.into_any(),
                    Page::Model => view! { <model::ModelPage/> }.into_any(),
                    Page::Settings => view! { <settings::SettingsPage/> }.into_any(),
                },
                (false, Some(true)) if auth.notice.get().is_none() => view! { <SetupForm/> }.into_any(),
                (false, Some(_)) => view! { <SignInForm/> }.into_any(),
                (false, None) => view! { <p class="empty">{tr("starting")}</p> }.into_any(),
            }}
        </main>
        <footer class="statusbar">
            <span id="model-version">
                {move || model.0.get().map(|s| format!("{} {}", t("model"), s.version)).unwrap_or_default()}
            </span>
            <span>{tr("works-offline-nothing-leaves-this-computer")}</span>
        </footer>
    }
}

/// When this module began to run, on the page's clock (start-up milestones).
static WASM_STARTED_MS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();

fn main() {
    WASM_STARTED_MS.get_or_init(ipc::now_ms);
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

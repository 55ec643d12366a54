//! CardioRisk's user interface (Leptos, client-side rendered, in the Tauri webview).

mod assess;
mod ipc;
mod session;
mod settings;

use cardiorisk_contract::{command, ModelStatus, NoArgs, Role};
use leptos::prelude::*;
use leptos::task::spawn_local;
use session::{Auth, SetupForm, SignInForm};

#[component]
fn App() -> impl IntoView {
    let status = RwSignal::new(None::<ModelStatus>);
    let auth = Auth {
        session: RwSignal::new(None),
        notice: RwSignal::new(None),
    };
    provide_context(auth);
    let needs_setup = RwSignal::new(None::<bool>);
    let on_settings = RwSignal::new(false);
    // Once anyone has signed in, set-up is done for good.
    Effect::new(move || {
        if auth.session.get().is_some() {
            needs_setup.set(Some(false));
        }
    });
    spawn_local(async move {
        if let Ok(s) = ipc::call::<_, ModelStatus>(command::MODEL_STATUS, &NoArgs {}).await {
            status.set(Some(s));
        }
        match ipc::call::<_, bool>(command::NEEDS_SETUP, &NoArgs {}).await {
            Ok(v) => needs_setup.set(Some(v)),
            Err(e) => auth.notice.set(Some(e.message)),
        }
    });
    view! {
        <header class="topbar">
            <span class="brand">"CardioRisk"</span>
            <span class="tagline">"Cardiac risk assessment — offline"</span>
            <span class="model-version" id="model-version">
                {move || status.get().map(|s| format!("Model {}", s.version)).unwrap_or_default()}
            </span>
            {move || auth.session.get().map(|s| view! {
                <nav class="tabs">
                    <button id="tab-assess" class="tab" class:active=move || !on_settings.get()
                        on:click=move |_| on_settings.set(false)>"Assessment"</button>
                    {(s.user.role == Role::Admin).then(|| view! {
                        <button id="tab-settings" class="tab" class:active=move || on_settings.get()
                            on:click=move |_| on_settings.set(true)>"Settings"</button>
                    })}
                </nav>
                <span class="who" id="who">{format!("{} ({})", s.user.display_name, s.user.role.as_str())}</span>
                <button id="sign-out" class="link" on:click=move |_| auth.sign_out()>"Sign out"</button>
            })}
        </header>
        {move || status.get().and_then(|s| s.warning).map(|w| view! {
            <div class="banner" id="model-warning" role="alert">{w}</div>
        })}
        <main class="page">
            {move || match (auth.session.get().is_some(), needs_setup.get()) {
                (true, _) if on_settings.get() => view! { <settings::SettingsPage/> }.into_any(),
                (true, _) => view! { <assess::AssessmentPage/> }.into_any(),
                (false, Some(true)) if auth.notice.get().is_none() => view! { <SetupForm/> }.into_any(),
                (false, Some(_)) => view! { <SignInForm/> }.into_any(),
                (false, None) => view! { <p class="empty">"Starting…"</p> }.into_any(),
            }}
        </main>
    }
}

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

//! CardioRisk's user interface (Leptos, client-side rendered, in the Tauri webview).

mod assess;
mod ipc;

use cardiorisk_contract::{command, ModelStatus, NoArgs};
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
fn App() -> impl IntoView {
    let status = RwSignal::new(None::<ModelStatus>);
    spawn_local(async move {
        if let Ok(s) = ipc::call::<_, ModelStatus>(command::MODEL_STATUS, &NoArgs {}).await {
            status.set(Some(s));
        }
    });
    view! {
        <header class="topbar">
            <span class="brand">"CardioRisk"</span>
            <span class="tagline">"Cardiac risk assessment — offline"</span>
            <span class="model-version" id="model-version">
                {move || status.get().map(|s| format!("Model {}", s.version)).unwrap_or_default()}
            </span>
        </header>
        {move || status.get().and_then(|s| s.warning).map(|w| view! {
            <div class="banner" id="model-warning" role="alert">{w}</div>
        })}
        <main class="page">
            <assess::AssessmentPage/>
        </main>
    }
}

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

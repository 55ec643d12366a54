//! CardioRisk's user interface (Leptos, client-side rendered, in the Tauri webview).

mod assess;
mod ipc;

use leptos::prelude::*;

#[component]
fn App() -> impl IntoView {
    view! {
        <header class="topbar">
            <span class="brand">"CardioRisk"</span>
            <span class="tagline">"Cardiac risk assessment — offline"</span>
        </header>
        <main class="page">
            <assess::AssessmentPage/>
        </main>
    }
}

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

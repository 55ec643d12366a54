//! Settings for administrators: the local REST gateway switch, and cache figures.

use crate::ipc::call;
use crate::session::Auth;
use cardiorisk_contract::{
    command, CacheStats, GatewayStatus, SetGatewayArgs, TokenArgs, DEFAULT_GATEWAY_PORT,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let status = RwSignal::new(None::<GatewayStatus>);
    let port = RwSignal::new(DEFAULT_GATEWAY_PORT.to_string());
    let error = RwSignal::new(None::<String>);
    let cache = RwSignal::new(None::<CacheStats>);

    let load = move || {
        let token = auth.token();
        spawn_local(async move {
            let args = TokenArgs { token };
            match call::<_, GatewayStatus>(command::GATEWAY_STATUS, &args).await {
                Ok(s) => {
                    port.set(s.port.to_string());
                    status.set(Some(s));
                }
                Err(e) => {
                    auth.check(&e);
                    error.set(Some(e.message));
                }
            }
            if let Ok(c) = call::<_, CacheStats>(command::CACHE_STATS, &args).await {
                cache.set(Some(c));
            }
        });
    };
    load();

    let switch = move |enabled: bool| {
        let Ok(p) = port.get_untracked().trim().parse::<u16>() else {
            error.set(Some(
                "port must be a whole number from 1024 to 65535".into(),
            ));
            return;
        };
        let args = SetGatewayArgs {
            token: auth.token(),
            enabled,
            port: p,
        };
        spawn_local(async move {
            match call::<_, GatewayStatus>(command::SET_GATEWAY, &args).await {
                Ok(s) => {
                    error.set(None);
                    status.set(Some(s));
                }
                Err(e) => {
                    auth.check(&e);
                    error.set(Some(e.message));
                }
            }
        });
    };

    view! {
        <section class="card" aria-labelledby="gateway-title">
            <h2 id="gateway-title">"Local REST gateway"</h2>
            <p class="meta">"Lets other programs of the clinic request predictions with an API key, at "
                <code>"http://127.0.0.1:PORT/external/api/riesgocardiaco"</code>
                ". It listens on this computer only and is off unless you turn it on."</p>
            <div class="row">
                <div class="field compact">
                    <label for="gateway-port"><span class="label">"Port"</span></label>
                    <input id="gateway-port" type="text" inputmode="numeric"
                        prop:value=move || port.get()
                        on:input=move |ev| port.set(event_target_value(&ev))/>
                </div>
                {move || {
                    let on = status.get().map(|s| s.enabled).unwrap_or(false);
                    if on {
                        view! { <button id="gateway-toggle" class="primary" on:click=move |_| switch(false)>"Turn off"</button> }.into_any()
                    } else {
                        view! { <button id="gateway-toggle" class="primary" on:click=move |_| switch(true)>"Turn on"</button> }.into_any()
                    }
                }}
            </div>
            <p id="gateway-state">{move || match status.get() {
                None => "Loading…".to_string(),
                Some(GatewayStatus { listening: Some(addr), .. }) => format!("On: listening on {addr}."),
                Some(GatewayStatus { enabled: true, error: Some(e), .. }) => format!("On, but not listening: {e}"),
                Some(_) => "Off.".to_string(),
            }}</p>
            {move || error.get().map(|e| view! { <p class="alert" id="gateway-error" role="alert">{e}</p> })}
        </section>
        <section class="card" aria-labelledby="cache-title">
            <h2 id="cache-title">"Prediction cache"</h2>
            <p id="cache-stats">{move || cache.get().map(|c| format!(
                "{} answered from the cache, {} computed; {} results kept. The cache empties when the model changes.",
                c.hits, c.misses, c.entries)).unwrap_or_else(|| "Loading…".into())}</p>
        </section>
    }
}

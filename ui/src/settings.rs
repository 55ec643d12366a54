//! Settings: language for everyone; for administrators the database (location,
//! backup, restore), the local REST gateway and the prediction cache.

use crate::i18n::{error_text, lang, t, tr, units, Lang, Units};
use crate::ipc::call;
use crate::session::Auth;
use cardiorisk_contract::{
    command, CacheStats, CommandError, GatewayStatus, Role, SetGatewayArgs, TokenArgs,
    DEFAULT_GATEWAY_PORT,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let admin = auth
        .session
        .get_untracked()
        .map(|s| s.user.role == Role::Admin)
        .unwrap_or(false);
    view! {
        <section class="card" aria-labelledby="general-title">
            <h1 id="general-title">{tr("General", "General")}</h1>
            <div class="field compact">
                <label for="settings-language"><span class="label">{tr("Language", "Idioma")}</span></label>
                <select id="settings-language" prop:value=move || lang().code()
                    on:change=move |ev| crate::choose_language(Lang::from_code(&event_target_value(&ev)))>
                    <option value="en">"English"</option>
                    <option value="es">"Español"</option>
                </select>
            </div>
            <div class="field compact wide">
                <label for="settings-units"><span class="label">{tr("Units of the measurements", "Unidades de las mediciones")}</span></label>
                <select id="settings-units" prop:value=move || units().code()
                    on:change=move |ev| crate::choose_units(Units::from_code(&event_target_value(&ev)))>
                    <option value="original">{tr("As in the original data: g/L, blood pressure ×100 mmHg", "Como en los datos originales: g/L, presión ×100 mmHg")}</option>
                    <option value="conventional">{tr("Conventional: mg/dL, mmHg", "Convencionales: mg/dL, mmHg")}</option>
                </select>
            </div>
            <p class="meta">{tr(
                "Applies to the form, the what-if sliders, tables, charts and reports. Values are stored and scored in the original units either way (240 mg/dL = 2.4 g/L; 120 mmHg = 1.2).",
                "Se aplica al formulario, los controles ¿y si…?, tablas, gráficos e informes. Los valores se guardan y evalúan siempre en las unidades originales (240 mg/dL = 2,4 g/L; 120 mmHg = 1,2).")}</p>
        </section>
        {admin.then(|| view! { <Database/> <Gateway/> })}
    }
}

#[component]
fn Database() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let location = RwSignal::new(None::<String>);
    let outcome = RwSignal::new(None::<Result<String, CommandError>>);
    let args = TokenArgs {
        token: auth.token(),
    };
    spawn_local(async move {
        if let Ok(path) = call::<_, String>(command::DATA_LOCATION, &args).await {
            location.set(Some(path));
        }
    });
    let run = move |cmd: &'static str, done: (&'static str, &'static str)| {
        let args = TokenArgs {
            token: auth.token(),
        };
        spawn_local(async move {
            match call::<_, Option<String>>(cmd, &args).await {
                Ok(Some(path)) => {
                    outcome.set(Some(Ok(format!("{} {path}", t(done.0, done.1)))));
                    if cmd == command::RESTORE {
                        // Restoring ends every session: sign in again on the restored data.
                        auth.notice.set(Some(
                            t(
                                "The database was restored. Sign in again.",
                                "Se ha restaurado la base de datos. Inicie sesión de nuevo.",
                            )
                            .into(),
                        ));
                        auth.session.set(None);
                    }
                }
                Ok(None) => outcome.set(None),
                Err(e) => {
                    auth.check(&e);
                    outcome.set(Some(Err(e)));
                }
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="db-title">
            <h2 id="db-title">{tr("Database", "Base de datos")}</h2>
            <p class="meta" id="db-location">{move || format!("{} {}", t("Stored at", "Guardada en"), location.get().unwrap_or_default())}</p>
            <div class="row">
                <button id="db-backup" class="secondary" on:click=move |_| run(command::BACKUP, ("Backup saved to", "Copia guardada en"))>
                    {tr("Back up…", "Hacer copia…")}</button>
                <button id="db-restore" class="secondary" on:click=move |_| run(command::RESTORE, ("Restored from", "Restaurada desde"))>
                    {tr("Restore from a backup…", "Restaurar una copia…")}</button>
            </div>
            <p class="meta">{tr(
                "A backup is a consistent copy taken while the app runs. Restoring replaces all patients, assessments, accounts and the audit log with the backup's, and signs everyone out.",
                "Una copia es coherente aunque la aplicación esté en uso. Restaurar sustituye todos los pacientes, evaluaciones, cuentas y el registro de auditoría por los de la copia, y cierra todas las sesiones.")}</p>
            {move || outcome.get().map(|r| match r {
                Ok(text) => view! { <p class="ok" id="db-outcome">{text}</p> }.into_any(),
                Err(e) => view! { <p class="alert" id="db-outcome" role="alert">{error_text(&e)}</p> }.into_any(),
            })}
        </section>
    }
}

#[component]
fn Gateway() -> impl IntoView {
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
                    error.set(Some(error_text(&e)));
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
                t(
                    "port must be a whole number from 1024 to 65535",
                    "port debe ser un número entero de 1024 a 65535",
                )
                .into(),
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
                    error.set(Some(error_text(&e)));
                }
            }
        });
    };

    view! {
        <section class="card" aria-labelledby="gateway-title">
            <h2 id="gateway-title">{tr("Local REST gateway", "Pasarela REST local")}</h2>
            <p class="meta">{tr("Lets other programs of the clinic request predictions with an API key, at ", "Permite a otros programas de la clínica pedir predicciones con una clave de API, en ")}
                <code>"http://127.0.0.1:PORT/external/api/riesgocardiaco"</code>
                {tr(". It listens on this computer only and is off unless you turn it on.", ". Solo escucha en este equipo y está apagada salvo que la encienda.")}</p>
            <div class="row">
                <div class="field compact">
                    <label for="gateway-port"><span class="label">{tr("Port", "Puerto")}</span></label>
                    <input id="gateway-port" type="text" inputmode="numeric"
                        prop:value=move || port.get()
                        on:input=move |ev| port.set(event_target_value(&ev))/>
                </div>
                {move || {
                    let on = status.get().map(|s| s.enabled).unwrap_or(false);
                    if on {
                        view! { <button id="gateway-toggle" class="primary" on:click=move |_| switch(false)>{tr("Turn off", "Apagar")}</button> }.into_any()
                    } else {
                        view! { <button id="gateway-toggle" class="primary" on:click=move |_| switch(true)>{tr("Turn on", "Encender")}</button> }.into_any()
                    }
                }}
            </div>
            <p id="gateway-state">{move || match status.get() {
                None => t("Loading…", "Cargando…").to_string(),
                Some(GatewayStatus { listening: Some(addr), .. }) => format!("{} {addr}.", t("On: listening on", "Encendida: escucha en")),
                Some(GatewayStatus { enabled: true, error: Some(e), .. }) => format!("{} {e}", t("On, but not listening:", "Encendida, pero sin escuchar:")),
                Some(_) => t("Off.", "Apagada.").to_string(),
            }}</p>
            {move || error.get().map(|e| view! { <p class="alert" id="gateway-error" role="alert">{e}</p> })}
        </section>
        <section class="card" aria-labelledby="cache-title">
            <h2 id="cache-title">{tr("Prediction cache", "Caché de predicciones")}</h2>
            <p id="cache-stats">{move || cache.get().map(|c| match lang() {
                Lang::En => format!("{} answered from the cache, {} computed; {} results kept. The cache empties when the model changes.", c.hits, c.misses, c.entries),
                Lang::Es => format!("{} respondidas desde la caché, {} calculadas; {} resultados guardados. La caché se vacía al cambiar el modelo.", c.hits, c.misses, c.entries),
            }).unwrap_or_else(|| t("Loading…", "Cargando…").into())}</p>
        </section>
    }
}
